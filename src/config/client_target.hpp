// Where the commands that talk to a running instance (status, stop, logs, ...) find it (SPEC
// §1): `--socket PATH`, else `$MAINSTAY_SOCKET`, else `status.socket` of the main file.
//
// Reading the main file for that one key must not fail on an error elsewhere in it, nor look
// at `services.d` at all: an operator controls the running instance while the files are being
// edited. So only `status.socket` and `status.file` are read (interpolated, relative to the
// file's directory, defaults when absent); a YAML syntax error further down cuts the text
// before it and reads what comes first.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "config/interpolate.hpp"

namespace mainstay::config {

struct ClientTarget {
    std::filesystem::path socket;
    std::optional<std::filesystem::path> status_file;  // unknown when given by --socket alone
};

// `status.socket` and `status.file` of the main file `file`; nullopt with `error` when the file
// cannot be read or those keys themselves are unusable ("FILE:LINE:COL: ...").
std::optional<ClientTarget> read_client_target(const std::filesystem::path& file, const Environment& env,
                                               std::string& error);

}  // namespace mainstay::config
