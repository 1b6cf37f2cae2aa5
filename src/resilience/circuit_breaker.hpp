// CircuitBreaker: stops calling something that keeps failing, and tries it again later.
//
// CLOSED passes every call and opens after `failure_threshold` consecutive failures. OPEN
// rejects every call (allow_request() returns false, so the caller does not call) until
// `recovery_timeout` has passed; next_deadline() is that moment, and the runtime calls
// poll(now) or allow_request(now) then to move to HALF_OPEN. HALF_OPEN admits up to
// `half_open_max_calls` trial calls at a time; `half_open_successes` successes close it, any
// failure reopens it with a new cooldown. reset() closes it by hand. Each transition emits
// exactly one breaker_transition event (to: closed, open, half-open). Thresholds of 0 count
// as 1.
//
// A result belongs to the period that admitted its call: allow_request() returns a
// BreakerPermit naming that period (every transition starts a new one), and a result reported
// with a permit of an earlier period (a slow call admitted while CLOSED returning during
// HALF_OPEN, a trial returning after reset()) is counted in stats() but changes nothing. The
// permit-less on_success(now)/on_failure(now) are for callers with one call at a time: they
// count for the current period, except that in HALF_OPEN they are ignored while no trial call
// is in flight.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "resilience/clock.hpp"
#include "resilience/events.hpp"
#include "resilience/params.hpp"

namespace mainstay::resilience {

enum class BreakerState { closed, open, half_open };

// "closed", "open", "half-open" (SPEC section 6 words).
std::string_view to_string(BreakerState state);

struct BreakerStats {
    std::uint64_t calls{0};  // admitted calls
    std::uint64_t successes{0};
    std::uint64_t failures{0};
    std::uint64_t rejections{0};  // calls refused while open (or half-open and full)
    std::uint64_t to_open{0};     // transitions, by target state
    std::uint64_t to_half_open{0};
    std::uint64_t to_closed{0};
    std::optional<TimePoint> last_success;  // of a call it admitted
    std::optional<TimePoint> last_failure;
};

// The answer of allow_request(): whether the call may go ahead and, if so, which period of
// the breaker admitted it. Tests as a bool (admitted).
struct BreakerPermit {
    bool admitted{false};
    std::uint64_t generation{0};  // the breaker's period; every transition starts a new one

    explicit operator bool() const { return admitted; }
};

class CircuitBreaker {
public:
    explicit CircuitBreaker(CircuitBreakerParams params, EventSource source = {});

    // Asks to make a call now. An admitted permit lets it go ahead (the caller must then report
    // on_success or on_failure, with the permit); a refused one rejects it and the caller must
    // not call.
    BreakerPermit allow_request(TimePoint now);
    // The result of the call `permit` admitted; ignored (beyond stats) if its period is over,
    // and entirely if the permit was refused.
    void on_success(TimePoint now, const BreakerPermit& permit);
    void on_failure(TimePoint now, const BreakerPermit& permit, std::string_view error = {});
    // Without a permit: the result of a call of the current period (see above).
    void on_success(TimePoint now);
    void on_failure(TimePoint now, std::string_view error = {});
    // Moves OPEN to HALF_OPEN once the cooldown is over; for the runtime's timer.
    void poll(TimePoint now);
    // Closes the breaker and forgets the failures.
    void reset(TimePoint now);

    BreakerState state() const { return state_; }
    // OPEN: when the cooldown ends; otherwise none.
    std::optional<TimePoint> next_deadline() const;
    // OPEN: time left until HALF_OPEN; otherwise zero.
    Duration remaining_cooldown(TimePoint now) const;
    std::uint32_t consecutive_failures() const { return consecutive_failures_; }
    const BreakerStats& stats() const { return stats_; }
    const CircuitBreakerParams& params() const { return params_; }
    const std::string& owner() const { return source_.owner; }
    const std::string& operation() const { return source_.operation; }

private:
    void count_success(TimePoint now);
    void count_failure(TimePoint now, std::string_view error);
    void transition(BreakerState to, TimePoint now, std::string_view detail = {});

    CircuitBreakerParams params_;
    EventSource source_;
    BreakerState state_{BreakerState::closed};
    TimePoint open_until_{};
    std::uint32_t consecutive_failures_{0};
    std::uint32_t half_open_in_flight_{0};
    std::uint32_t half_open_successes_{0};
    std::uint64_t generation_{0};
    BreakerStats stats_;
};

}  // namespace mainstay::resilience
