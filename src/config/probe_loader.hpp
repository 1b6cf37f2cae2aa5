// Reading one probe (`probes.startup|readiness|liveness`, a capability's `check`).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/schema.hpp"
#include "config/tree.hpp"

namespace mainstay::config {

// The keys of which a probe has exactly one.
inline const std::vector<std::string> kProbeHandlerKeys{"exec", "tcp", "http"};

// `key` names the probe in messages. Reports every problem; nullopt when the probe is unusable.
std::optional<ProbeSpec> read_probe(const Node& node, std::string_view key, Diagnostics& diags);

}  // namespace mainstay::config
