// Reading one file of `services.d/`: a service (process, oneshot, external) or a capability.
//
// `defaults:` from the main file are merged in first (the file's own keys win; keys that do
// not apply to the kind are ignored). Checks that need the other services (dependency names,
// cycles, duplicate names) are the loader's, after every file is read.
#pragma once

#include <filesystem>

#include "config/diagnostics.hpp"
#include "config/schema.hpp"
#include "config/tree.hpp"

namespace mainstay::config {

// Appends the file's service or capability to `out`, as far as it could be read: the checks
// across files still see it when it has errors (and the loader returns no Config then).
void read_service_file(const Node& tree, const std::filesystem::path& file, const Node* defaults, Diagnostics& diags,
                       Config& out);

// Checks `defaults:` on its own: known keys, none that cannot be defaulted, typed values.
void validate_defaults(const Node& defaults, Diagnostics& diags);

}  // namespace mainstay::config
