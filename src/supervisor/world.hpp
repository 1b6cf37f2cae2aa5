// The supervisor's only door to the operating system.
//
// The supervisor decides; the World does. It has one real implementation (runtime/real_world)
// that spawns processes, signals process groups and arms Asio timers, and one fake in the
// scenario tests where time is a number the test advances and processes are records.
#pragma once

#include <cstddef>
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

using resilience::Duration;
using resilience::TimePoint;

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

// Who a timer or a probe belongs to: a service or a capability (its id, stable for as long as
// it exists, never reused), or one of the supervisor's own timers below kFirstId.
using Id = std::uint64_t;
inline constexpr Id kShutdownTimer = 0;  // shutdown.timeout
inline constexpr Id kStartupTimer = 1;   // startup.timeout
inline constexpr Id kModeTimer = 2;      // a postponed mode line
inline constexpr Id kFirstId = 3;
std::string_view to_string(ProbeKind kind);

// What a service pushed about itself: one sd_notify datagram (READY=1, STATUS=..., STOPPING=1,
// WATCHDOG=1, WATCHDOG=trigger), or `ready` alone for its ready line or its s6 readiness fd.
struct Notice {
    bool ready{false};
    bool stopping{false};
    bool watchdog{false};
    bool watchdog_trigger{false};
    std::optional<std::string> status{};
};

struct StartResult {
    std::optional<int> pid;  // set when the process was started
    std::string error;       // otherwise why not
};

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
    std::optional<Duration> next_attempt_in;
};

class World {
public:
    virtual ~World() = default;

    virtual TimePoint now() const = 0;
    // Starts `spec`'s command as the leader of a new process group (its pid is the pgid).
    virtual StartResult start_process(const config::ServiceSpec& spec) = 0;
    // Starts a helper command of `spec` (its `stop.command` or `wake.command`, named by `purpose`:
    // "stop", "wake"; its output is labelled `NAME/PURPOSE`) with the service's environment and
    // directory, also in a process group of its own.
    virtual StartResult start_helper(const config::ServiceSpec& spec, const config::Argv& argv,
                                     std::string_view purpose) = 0;
    // Runs one attempt of `probe` (with its timeout) for service or capability `id`; the result
    // comes back as Supervisor::on_probe_result(id, kind, ...). At most one runs per (id, kind).
    virtual void start_probe(Id id, ProbeKind kind, const config::ProbeSpec& probe) = 0;
    // Abandons the running attempt: no result will come for it.
    virtual void cancel_probe(Id id, ProbeKind kind) = 0;
    // Starts a command of mainstay's own (a capability's activate/deactivate) in a process group
    // of its own, with mainstay's environment; `label` names it in the log.
    virtual StartResult start_command(const std::string& label, const config::Argv& argv) = 0;
    // kill(-pgid, signal). Only called while the group's leader is alive or a zombie.
    virtual void signal_group(int pgid, int signal) = 0;
    // The one timer of `id`: fires `Supervisor::on_timer(id)` at `when`; nullopt cancels it.
    // Arming again replaces the previous deadline.
    virtual void set_timer(Id id, std::optional<TimePoint> when) = 0;
    // `id` is gone (removed by a reload): whatever the World keeps for it can go.
    virtual void forget(Id id) { (void)id; }
    // The startup phase is over (systemd's READY=1, when mainstay runs under it); `status` is one line.
    virtual void notify_ready(const std::string& status) = 0;
    // Everything has stopped after a shutdown: the runtime may end.
    virtual void shutdown_complete() = 0;
    // A line for mainstay's own log.
    virtual void log(config::LogLevel level, const std::string& message) = 0;
    // SIGHUP: read the configuration again and apply the difference (Supervisor::apply).
    virtual void reload() {}
    // The last line the current (or last) process of `service` wrote; empty when none. Read when
    // its exit is handled, after what was left in its pipe (SPEC §3: a failed exit's reason
    // quotes it).
    virtual std::string last_output(const std::string& service) const {
        (void)service;
        return {};
    }
    // For the events journal; nothing by default.
    virtual void record(const Transition& transition) { (void)transition; }
};

}  // namespace mainstay::supervisor
