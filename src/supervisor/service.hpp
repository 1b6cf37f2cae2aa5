// One supervised service: its current state, its desired state and its resilience machines.
//
// A Service decides what happens to its own process: when to start it, when it counts as
// ready (`ready_after` up, until probes exist), what an exit means (restart with backoff
// through its circuit breaker and background recovery, `failed` on a permanent exit code,
// `completed` for a oneshot), how to stop it (stop signal to its process group, SIGKILL after
// `stop.timeout`). It acts only through the World and exposes one deadline for its one timer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "config/schema.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/events.hpp"
#include "resilience/random.hpp"
#include "resilience/recovery.hpp"
#include "resilience/retry.hpp"
#include "supervisor/observer.hpp"
#include "supervisor/probes.hpp"
#include "supervisor/state.hpp"
#include "supervisor/world.hpp"

namespace mainstay::supervisor {

// `exited with code 1: "OSError: [Errno 98] Address already in use"`: what happened, in the
// service's own last words (the line made printable and cut at 200 bytes); `what` alone when
// the line is blank.
std::string with_last_words(const std::string& what, const std::string& line);

class Service {
public:
    // Keeps its own copy of `spec` (a reload may replace the configuration it came from).
    Service(const config::ServiceSpec& spec, Id id, Observer& observer, resilience::Random& random,
            resilience::EventSink* events);

    // Wants it running: starts it now (the caller has checked its dependencies).
    void start(World& world);
    // Wants it stopped: stop command or signal now, SIGKILL after stop.timeout (at once with
    // `force`); `stopped` at once when not running.
    void stop(World& world, bool force = false);
    // Shutdown has begun: no more starts or restarts; a running process waits for its wave.
    void hold(World& world);
    // SIGKILL to its process group and to its stop command's.
    void kill(World& world);
    // Something it depends on came back: its next attempt is due now rather than after its backoff.
    void wake(World& world);
    // Available to dependents that need it `healthy`.
    bool available() const { return state_ == State::ready || state_ == State::completed; }
    // Waiting for a dependency (`waiting`), or for one that is down (`blocked`).
    void set_waiting(World& world, State state, std::string reason);
    // `mainstay resume` (and restart of a service not running): paused or recovering, the
    // safety valve and the backoff restart, the breaker closes and an attempt is due now.
    void resume(World& world);
    // `mainstay start|stop|restart|resume NAME`, each logged; empty when done, else why not.
    // stop holds it stopped until start; start makes it waiting (the Supervisor starts it once
    // its dependencies are met); restart stops a running process and starts it again at once.
    std::string stop_by_hand(World& world);
    std::string start_by_hand(World& world);
    std::string restart_by_hand(World& world);
    std::string resume_by_hand(World& world);
    // Stopped by hand: not started again until start_by_hand.
    bool held() const { return want_ == Want::held; }
    // Its process (the group leader) exited; the zombie still pins the pid.
    void on_exit(World& world, const ExitStatus& status);
    // Its timer fired.
    void on_timer(World& world);
    // A probe attempt of its ended.
    void on_probe_result(World& world, ProbeKind kind, resilience::ProbeStatus status, const std::string& detail);
    const ProbeSet& probes() const { return probes_; }

    std::optional<TimePoint> next_deadline() const;

    const config::ServiceSpec& spec() const { return spec_; }
    Id id() const { return id_; }
    const std::string& name() const { return spec_.name; }
    State state() const { return state_; }
    bool wants_running() const { return want_ == Want::running; }
    const std::string& reason() const { return reason_; }
    std::optional<int> pid() const { return pid_; }
    // The running `stop.command`, if any.
    std::optional<int> helper_pid() const { return helper_pid_; }
    // The helper exited.
    void on_helper_exit(World& world, const ExitStatus& status);
    std::uint32_t restarts() const { return restarts_; }
    std::uint32_t starts() const { return starts_; }
    std::optional<ExitStatus> last_exit() const { return last_exit_; }
    TimePoint since() const { return since_; }
    const resilience::CircuitBreaker& breaker() const { return breaker_; }
    const resilience::BackgroundRecovery& recovery() const { return recovery_; }
    // Has it had its chance? (ready, completed, or failed its first attempt): for the startup phase.
    bool settled() const;
    // A process of its own is still alive: the service or its stop command.
    bool active() const { return pid_.has_value() || helper_pid_.has_value(); }

    // The Supervisor's own bookkeeping: the pids under which it has indexed this service (its
    // process and its stop or wake command), to find it again in O(1) when one exits.
    struct Indexed {
        std::optional<int> pid;
        std::optional<int> helper;
    };
    Indexed indexed;

    // It pushed something about itself (`ready:` SPEC §3): its ready line or fd, or a notify
    // datagram. READY=1 makes it ready (now, or once its startup probe passed), STATUS= shows in
    // its reason, STOPPING=1 takes the readiness away, WATCHDOG=1 feeds `ready.watchdog`.
    void on_notice(World& world, const Notice& notice);
    // `depends_on: {x: {restart: true}}`: x restarted since this process started (the
    // Supervisor checks): stop it and start it again at once.
    void restart_after(World& world, const std::string& dependency);
    // Orders the starts of all services: a later start has a greater number.
    std::uint64_t launch_serial() const { return launch_serial_; }
    // Set by an exit whose on_exit is `shutdown`: the code mainstay is to exit with (taken once).
    std::optional<int> take_shutdown_code() { return std::exchange(shutdown_code_, std::nullopt); }

private:
    void launch(World& world);
    // "waiting for READY=1 on its NOTIFY_SOCKET": what its `ready:` source waits for.
    std::string waiting_for_push() const;
    void attempt(World& world);
    void failure(World& world, const std::string& why);
    // `quiet`: the caller logs the transition itself. `failed`: a failure, recorded in the
    // journal even when the state stays the same.
    void become(World& world, State s, std::string reason, bool quiet = false, bool failed = false);
    void on_ready(World& world);
    // A failure retrying cannot fix (SPEC §3): `failed` (its process stopped first), nothing
    // retried until start, restart or resume.
    void fail_permanently(World& world, const std::string& why);
    // The process must go (a failed liveness or startup probe): stop it, then restart per policy.
    void restart_for(World& world, std::string why);
    // External services: run `wake.command` under its retry policy, through the breaker.
    void wake_step(World& world);
    void on_wake_exit(World& world, const ExitStatus& status);
    // After every call on the breaker: a transition gets a line of its own, an opening one with
    // when the trial comes; `closed_why` says why it closed ("the trial succeeded").
    void report_breaker(World& world, std::string_view closed_why = "the trial succeeded");

    const config::ServiceSpec spec_;  // first: the machines below point into it
    Id id_;
    resilience::CircuitBreaker breaker_;
    resilience::BackgroundRecovery recovery_;
    resilience::BreakerPermit permit_;
    resilience::BreakerState reported_breaker_{resilience::BreakerState::closed};
    ProbeSet probes_;
    resilience::RetryPolicy wake_;
    resilience::BreakerPermit wake_permit_;
    std::optional<TimePoint> wake_succeeded_at_;
    std::uint32_t wake_attempts_{0};             // every wake started, across series
    std::optional<std::string> restart_reason_;  // stopping to restart (a probe failed)
    State state_{State::waiting};
    // What it is meant to be, beside what it is (state_), as dinit keeps them: `running`
    // (started, and restarted per its policy), `held` (stopped by hand: not started again until
    // start), or neither (`idle`: not started yet, waiting for its dependencies, or ended).
    enum class Want { idle, running, held };
    Want want_{Want::idle};
    // No longer meant to run; held stays held.
    void unwant() {
        if (want_ == Want::running) want_ = Want::idle;
    }
    std::string reason_;
    std::optional<int> pid_;
    std::optional<int> helper_pid_;
    std::optional<ExitStatus> last_exit_;
    std::optional<TimePoint> ready_at_;            // running: becomes ready then
    std::optional<TimePoint> kill_at_;             // stopping: SIGKILL then
    std::optional<TimePoint> reset_at_;            // ready: the backoff resets then
    std::optional<TimePoint> run_until_;           // a running oneshot: its `timeout` ends then
    Observer& observer_;                           // its log lines and transitions
    resilience::EventSink* events_;                // for a run's timeout (the machines report their own)
    bool timed_out_{false};                        // stopping because its run reached its timeout
    std::optional<std::string> permanent_reason_;  // stopping after a permanent failure: `failed` then
    TimePoint since_{};
    std::uint32_t starts_{0};
    std::uint32_t restarts_{0};
    bool attempted_{false};
    bool restart_now_{false};  // restart by hand: once stopped, started again without the backoff
    std::optional<int> shutdown_code_{};
    bool pushed_ready_{false};                // this process said it is ready (READY=1, its line, its fd)
    bool said_stopping_{false};               // this process said STOPPING=1
    std::string said_status_{};               // its last STATUS=
    std::optional<TimePoint> watchdog_at_{};  // ready.watchdog: a liveness failure then, unless fed
    std::uint64_t launch_serial_{0};
};

}  // namespace mainstay::supervisor
