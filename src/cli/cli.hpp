// The `mainstay` command line (SPEC §1): parses arguments and runs the chosen command.
//
// Output goes to the streams passed in and the environment is injected, so tests run the
// whole command line in-process.
#pragma once

#include <ostream>

#include "config/interpolate.hpp"

namespace mainstay::cli {

// Exit codes shared by the commands (SPEC §1).
inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalidConfig = 2;
inline constexpr int kExitUsage = 64;  // EX_USAGE: unknown option or command

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err, const config::Environment& env);

}  // namespace mainstay::cli
