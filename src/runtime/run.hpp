// `mainstay run`: supervise the configuration until SIGTERM/SIGINT, then stop everything.
#pragma once

#include "config/schema.hpp"

namespace mainstay::runtime {

// Exit codes per SPEC §1: 0 after a clean shutdown, 3 when another instance holds the lock.
int run(const config::Config& config);

}  // namespace mainstay::runtime
