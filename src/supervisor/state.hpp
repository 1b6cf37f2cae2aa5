// The states of a service and of the whole, spelled as in SPEC §4.
#pragma once

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

}  // namespace mainstay::supervisor
