#include "supervisor/state.hpp"

#include "config/values.hpp"

namespace mainstay::supervisor {

std::string_view to_string(State s) {
    switch (s) {
        case State::waiting:
            return "waiting";
        case State::blocked:
            return "blocked";
        case State::starting:
            return "starting";
        case State::running:
            return "running";
        case State::ready:
            return "ready";
        case State::unhealthy:
            return "unhealthy";
        case State::recovering:
            return "recovering";
        case State::paused:
            return "paused";
        case State::stopping:
            return "stopping";
        case State::stopped:
            return "stopped";
        case State::completed:
            return "completed";
        case State::failed:
            return "failed";
    }
    return "?";
}

std::string_view to_string(Mode m) {
    switch (m) {
        case Mode::starting:
            return "starting";
        case Mode::full:
            return "full";
        case Mode::degraded:
            return "degraded";
        case Mode::critical:
            return "critical";
        case Mode::stopping:
            return "stopping";
    }
    return "?";
}

std::string_view to_string(ProbeKind kind) {
    switch (kind) {
        case ProbeKind::startup:
            return "startup";
        case ProbeKind::readiness:
            return "readiness";
        case ProbeKind::liveness:
            return "liveness";
    }
    return "?";
}

std::string ExitStatus::describe() const {
    if (code) return "exited with code " + std::to_string(*code);
    if (signal) return "killed by " + config::signal_name(*signal);
    return "ended";
}

}  // namespace mainstay::supervisor
