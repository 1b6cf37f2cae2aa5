// RetryPolicy: retries of a one-shot operation (a wake command, a capability hook).
//
// A state machine the runtime drives. begin(now) makes attempt 1 due at once; when an attempt
// is due the runtime calls start_attempt(now), runs the operation, and enforces the per-attempt
// `timeout` (next_deadline() is then the attempt's deadline); it reports the outcome with
// on_result(now, outcome). A success ends in `succeeded`; a permanent failure ends in
// `failed_permanent` at once; a transient failure or a timeout is retried after a backoff
// delay until `max_attempts` attempts were made, then it ends in `exhausted` carrying the last
// error (`max_attempts` 0 counts as 1; `timeout` 0 means no deadline). Events: retry_attempt
// per retry, timeout per timeout, retry_exhausted, retry_failed_permanent.
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

struct Outcome {
    enum class Kind { success, transient_failure, permanent_failure, timeout };
    Kind kind{Kind::success};
    std::string error;

    static Outcome success() { return {Kind::success, {}}; }
    static Outcome transient(std::string error) { return {Kind::transient_failure, std::move(error)}; }
    static Outcome permanent(std::string error) { return {Kind::permanent_failure, std::move(error)}; }
    // A timeout reported by the runtime: a transient failure, also counted as a timeout.
    static Outcome timed_out(std::string error = {}) { return {Kind::timeout, std::move(error)}; }
};

enum class RetryState {
    idle,              // not begun
    waiting,           // the next attempt is due at next_deadline()
    attempting,        // an attempt is running; next_deadline() is its timeout
    succeeded,         // final
    failed_permanent,  // final: a permanent failure
    exhausted,         // final: max_attempts transient failures
};

std::string_view to_string(RetryState state);

class RetryPolicy {
public:
    RetryPolicy(RetryParams params, Random& random, EventSource source = {});

    // Starts over (also after a final state): attempt 1 is due at `now`.
    void begin(TimePoint now);
    // Starts the due attempt; returns its number (1-based), or nullopt when none is due yet.
    std::optional<std::uint32_t> start_attempt(TimePoint now);
    // Reports the running attempt's outcome; returns the new state. Ignored unless attempting.
    RetryState on_result(TimePoint now, const Outcome& outcome);

    RetryState state() const { return state_; }
    bool finished() const;
    // waiting: when the next attempt is due; attempting: the attempt's timeout (none when
    // `timeout` is 0); otherwise none.
    std::optional<TimePoint> next_deadline() const { return deadline_; }
    std::uint32_t attempts() const { return attempts_; }
    std::uint32_t timeouts() const { return timeouts_; }
    const std::string& last_error() const { return last_error_; }
    Duration attempt_timeout() const { return params_.timeout; }
    const RetryParams& params() const { return params_; }
    const std::string& owner() const { return source_.owner; }

private:
    RetryParams params_;
    Backoff backoff_;
    EventSource source_;
    RetryState state_{RetryState::idle};
    std::optional<TimePoint> deadline_;
    std::uint32_t attempts_{0};
    std::uint32_t timeouts_{0};
    std::string last_error_;
};

}  // namespace mainstay::resilience
