// The states of a service and of the whole, spelled as in SPEC §4, and the other values a
// snapshot shows: how a process ended, which probe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mainstay::supervisor {

enum class State {
    waiting,
    blocked,
    starting,
    running,
    ready,
    unhealthy,
    recovering,
    paused,
    stopping,
    stopped,
    completed,
    failed
};
enum class Mode { starting, full, degraded, critical, stopping };

std::string_view to_string(State s);
std::string_view to_string(Mode m);

// How a process ended: exactly one of `code` (it exited) or `signal` (it was killed) is set.
struct ExitStatus {
    std::optional<int> code;
    std::optional<int> signal;

    static ExitStatus exited(int c) { return {c, std::nullopt}; }
    static ExitStatus killed(int s) { return {std::nullopt, s}; }
    bool success() const { return code == 0; }
    std::string describe() const;  // "exited with code 1", "killed by SIGKILL"
};

enum class ProbeKind { startup, readiness, liveness };
std::string_view to_string(ProbeKind kind);

}  // namespace mainstay::supervisor
