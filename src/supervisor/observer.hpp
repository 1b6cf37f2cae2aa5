// What the supervisor reports, apart from what it does.
//
// The World (world.hpp) carries out the supervisor's decisions; the Observer is told about
// them: the lines of mainstay's own log, every transition for the events journal, and the end
// of the startup phase. The running instance's Observer (serve/reporter) hands these to the
// log and the publisher; the scenario tests keep them in lists. Nothing the supervisor decides
// ever waits on what an Observer does with them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "config/schema.hpp"
#include "resilience/capability.hpp"
#include "resilience/clock.hpp"
#include "supervisor/state.hpp"

namespace mainstay::supervisor {

// A state of what a Transition is about: a service's, a capability's or the mode. Typed, so
// a consumer compares it with State::ready, not with the text "ready"; name() is the text.
class StateOf {
public:
    StateOf(State s) : value_(s) {}                        // NOLINT: implicit on purpose
    StateOf(resilience::CapabilityState c) : value_(c) {}  // NOLINT
    StateOf(Mode m) : value_(m) {}                         // NOLINT

    std::string_view name() const {
        return std::visit([](auto v) { return to_string(v); }, value_);
    }
    template <class E>
    requires std::is_enum_v<E>
    bool is(E e) const {
        const E* held = std::get_if<E>(&value_);
        return held != nullptr && *held == e;
    }
    template <class E>
    requires std::is_enum_v<E>
    bool operator==(E e) const { return is(e); }
    bool operator==(const StateOf&) const = default;
    const std::variant<State, resilience::CapabilityState, Mode>& value() const { return value_; }

private:
    std::variant<State, resilience::CapabilityState, Mode> value_;
};

// One entry of the events journal: a service, capability or the mode changed state, or a
// service failed again (a failed attempt is an event even when the state stays `recovering`).
// `attempt` and `next_attempt_in` are set while a recovery is under way.
struct Transition {
    enum class Subject { service, capability, mode };
    Subject subject{Subject::service};
    std::string name;  // the service's or capability's; empty for the mode
    StateOf from{State::waiting};
    StateOf to{State::waiting};
    std::string reason;
    std::optional<std::uint32_t> attempt;
    std::optional<resilience::Duration> next_attempt_in;
};

class Observer {
public:
    virtual ~Observer() = default;

    // A line for mainstay's own log.
    virtual void log(config::LogLevel level, const std::string& message) = 0;
    // For the events journal (and whatever follows transitions).
    virtual void record(const Transition& transition) = 0;
    // The startup phase is over (systemd's READY=1, when mainstay runs under it); `status` is
    // the first mode line.
    virtual void startup_ended(const std::string& status) = 0;
};

}  // namespace mainstay::supervisor
