// BackgroundRecovery: keeps retrying a failed service, with backoff and a safety valve.
//
// IDLE until start(now); RECOVERING waits one backoff delay, then the next attempt is due at
// next_deadline(): the runtime calls begin_attempt(now), tries (e.g. restarts the service), and
// reports on_attempt_result(now, ok). A success moves to SUCCEEDED and is reported once (one
// recovery_succeeded event; later results are ignored). A failure schedules the next attempt
// after the next backoff delay, unless the safety valve trips: `max_attempts` failed attempts
// or `max_total_time` since the recovery started (0 = unlimited) move it to PAUSED, which
// waits for resume(now) (the valve restarts and an attempt is due at once). No attempt starts
// after the time budget: a delay reaching past it is cut to end at it (the last attempt comes
// at the budget's end, and its failure pauses), and an attempt postponed past it does not
// start (begin_attempt() pauses instead). A change of
// conditions (a dependency recovered, a reload) brings the next attempt forward to
// now + wake_fraction * (time left). start() and stop() are idempotent. The backoff is not
// reset by success: the supervisor calls reset_backoff() after `reset_after` healthy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "resilience/backoff.hpp"
#include "resilience/clock.hpp"
#include "resilience/events.hpp"
#include "resilience/params.hpp"
#include "resilience/random.hpp"

namespace mainstay::resilience {

enum class RecoveryState { idle, recovering, succeeded, paused };
std::string_view to_string(RecoveryState state);

class BackgroundRecovery {
public:
    BackgroundRecovery(BackoffParams backoff, RecoveryParams params, Random& random, EventSource source = {});

    // Begins recovering (from IDLE or SUCCEEDED): the first attempt is due after one backoff
    // delay. No effect while RECOVERING or PAUSED.
    void start(TimePoint now, std::string reason = {});
    // Back to IDLE; a result of an attempt still running is then ignored. No effect when IDLE.
    void stop();
    // Starts the due attempt; returns its number (1-based since start, or resume from PAUSED),
    // or nullopt when none is due (not RECOVERING, not yet time, or one is already running),
    // or when postpone() put it past `max_total_time` (then it pauses).
    std::optional<std::uint32_t> begin_attempt(TimePoint now);
    // Reports the running attempt; returns the new state.
    RecoveryState on_attempt_result(TimePoint now, bool ok, std::string error = {});
    // Something the service waits for changed: the next attempt comes early.
    void conditions_changed(TimePoint now);
    // Delays the next attempt to at least `until` without counting an attempt (e.g. while the
    // circuit breaker is open).
    void postpone(TimePoint until);
    // By hand (`mainstay resume`). PAUSED: the valve and the backoff restart, an attempt is due
    // now (recovery_resumed). RECOVERING: the valve (attempt count and time budget) and the
    // backoff restart and the waiting attempt is due now; a running attempt keeps its number;
    // no event. IDLE, SUCCEEDED: no effect.
    void resume(TimePoint now);
    void reset_backoff() { backoff_.reset(); }

    RecoveryState state() const { return state_; }
    // RECOVERING and waiting: when the next attempt is due; otherwise none.
    std::optional<TimePoint> next_deadline() const;
    std::uint32_t attempts() const { return attempts_; }
    bool attempt_running() const { return running_; }
    const std::string& last_error() const { return last_error_; }
    // PAUSED: why the valve tripped.
    const std::string& pause_reason() const { return pause_reason_; }
    std::optional<TimePoint> started_at() const { return started_at_; }
    const RecoveryParams& params() const { return params_; }
    const std::string& owner() const { return source_.owner; }
    const std::string& operation() const { return source_.operation; }

private:
    void begin_episode(TimePoint now);
    void pause(TimePoint now, std::string reason);
    // The next attempt after one backoff delay, but never past the budget's end.
    void schedule_next(TimePoint now);
    // started_at + max_total_time; none when unlimited.
    std::optional<TimePoint> budget_end() const;
    std::string budget_reason() const;

    RecoveryParams params_;
    Backoff backoff_;
    EventSource source_;
    RecoveryState state_{RecoveryState::idle};
    std::optional<TimePoint> started_at_;
    TimePoint next_at_{};
    std::uint32_t attempts_{0};        // since start or resume from PAUSED; reported
    std::uint32_t valve_attempts_{0};  // counted against max_attempts; also reset by resume
    bool running_{false};
    std::string last_error_;
    std::string pause_reason_;
};

}  // namespace mainstay::resilience
