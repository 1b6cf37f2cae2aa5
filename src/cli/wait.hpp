// `mainstay wait TARGET... [--timeout D]` (SPEC §1): for scripts, ExecStartPre and init
// containers. Exit 0 once every target answers, 1 at the timeout naming what did not, 64 for a
// target it cannot read.
//
// Targets:
//   tcp://HOST:PORT    a TCP connect succeeds
//   http://HOST[:PORT][/PATH]   a GET answers with a status 200-399
//   unix:PATH          a connect to the unix stream socket succeeds
//   service:NAME       the running instance says NAME is ready (or completed, for a oneshot)
// Each target not yet answering is tried again every 250 ms, each try bounded by 2 s and by
// what is left of the timeout; one that answered is not asked again. A target's line is
// printed when it answers ("tcp://127.0.0.1:5432: answers after 1.3s"), and at the timeout the
// last reason of each one that did not ("service:db: recovering: exited with code 1").
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "config/client_target.hpp"

namespace mainstay::cli {

struct WaitOptions {
    std::vector<std::string> targets;
    std::chrono::milliseconds timeout{60'000};
    // For service: targets, the running instance (unset when no target needs one).
    std::optional<config::ClientTarget> instance;
};

// Whether `target` reads ("tcp://h:1", ...); else why not, for a usage error.
std::optional<std::string> wait_target_error(const std::string& target);
bool wants_instance(const std::vector<std::string>& targets);

int wait_command(const WaitOptions& o, std::ostream& out, std::ostream& err);

}  // namespace mainstay::cli
