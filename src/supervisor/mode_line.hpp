// The mode line people read on the console and in the log:
//   mode: degraded: ollama recovering (killed by SIGSEGV); capabilities: llm degraded (...)
// Logged at once when the mode changes; when only its reasons change, at most once per
// kInterval (the rest waits on the kModeTimer). The first line after the startup phase also
// tells a service manager above mainstay (Observer::startup_ended). Nothing is said while the
// mode is `starting` or `stopping`.
#pragma once

#include <functional>
#include <string>

#include "supervisor/observer.hpp"
#include "supervisor/state.hpp"
#include "supervisor/world.hpp"

namespace mainstay::supervisor {

class ModeLine {
public:
    static constexpr Duration kInterval{std::chrono::seconds(5)};

    // Something the line says may have changed (a service's state or reason, a capability's).
    void dirty() { dirty_ = true; }
    // Logs the line now, later (arms kModeTimer) or not at all; `summary()` makes it, called
    // only when it may be printed.
    void report(World& world, Observer& observer, Mode mode, const std::function<std::string()>& summary);
    // Its timer fired, or was cancelled (shutdown).
    void timer_done() { timer_armed_ = false; }

private:
    bool dirty_{false};
    Mode printed_{Mode::starting};
    std::string line_;
    TimePoint printed_at_{};
    bool timer_armed_{false};
};

}  // namespace mainstay::supervisor
