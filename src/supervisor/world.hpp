// The supervisor's only door to the operating system.
//
// The supervisor decides; the World does. It has one real implementation (runtime/real_world)
// that spawns processes, signals process groups and arms Asio timers, and one fake in the
// scenario tests where time is a number the test advances and processes are records. What the
// supervisor reports (its log, its transitions) goes to an Observer (observer.hpp), not here:
// the World only carries out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/schema.hpp"
#include "resilience/clock.hpp"
#include "supervisor/state.hpp"

namespace mainstay::supervisor {

using resilience::Duration;
using resilience::TimePoint;

// Who a timer or a probe belongs to: a service or a capability (its id, stable for as long as
// it exists, never reused), or one of the supervisor's own timers below kFirstId.
using Id = std::uint64_t;
inline constexpr Id kShutdownTimer = 0;  // shutdown.timeout
inline constexpr Id kStartupTimer = 1;   // startup.timeout
inline constexpr Id kModeTimer = 2;      // a postponed mode line
inline constexpr Id kFirstId = 3;

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
    // Everything has stopped after a shutdown: the runtime may end.
    virtual void shutdown_complete() = 0;
    // SIGHUP: read the configuration again and apply the difference (Supervisor::apply).
    virtual void reload() {}
    // The last line the current (or last) process of `service` wrote; empty when none. Read when
    // its exit is handled, after what was left in its pipe (SPEC §3: a failed exit's reason
    // quotes it).
    virtual std::string last_output(const std::string& service) const {
        (void)service;
        return {};
    }
};

}  // namespace mainstay::supervisor
