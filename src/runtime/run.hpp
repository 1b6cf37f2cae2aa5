// `mainstay run`: supervise the configuration until SIGTERM/SIGINT, then stop everything.
#pragma once

#include "config/loader.hpp"
#include "config/schema.hpp"

namespace mainstay::runtime {

// From the first instant of `mainstay run` until run() takes over its signals: SIGTERM, SIGINT
// or SIGQUIT end mainstay at once (exit 0; nothing has been started yet). As PID 1 a signal
// with no handler is dropped by the kernel, so without this a slow configuration load (a hung
// network file system) could not be interrupted.
void exit_on_stop_signals();

// Exit codes per SPEC §1: 0 after a clean shutdown, 3 when another instance holds the lock.
// `reload_from` is how `config` was loaded: a reload (SIGHUP, `mainstay reload`) loads again
// with it. `config` is taken: once each service holds its definition, the loaded list is freed.
int run(config::Config config, const config::LoadOptions& reload_from);

}  // namespace mainstay::runtime
