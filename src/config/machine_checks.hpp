// Checks of a valid configuration against this machine, for `mainstay check`.
//
// They are warnings, not errors: a missing executable or working directory may appear later
// (Docker installed after boot), and that is what degraded mode is for; so may a user or group
// that a package creates later. Only file-system and user-database look-ups (stat, access,
// getpwnam, getgrnam); nothing is run.
#pragma once

#include <optional>
#include <string>

#include "config/diagnostics.hpp"
#include "config/interpolate.hpp"
#include "config/schema.hpp"

namespace mainstay::config {

// The executable `argv0` resolves to through PATH (or as a path when it holds a '/'), if it
// exists and is executable.
std::optional<Path> find_executable(const std::string& argv0, const Environment& env);

void check_machine(const Config& config, const Environment& env, Diagnostics& diags);

}  // namespace mainstay::config
