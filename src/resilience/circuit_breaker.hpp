// CircuitBreaker: stops calling something that keeps failing, and tries it again later.
//
// CLOSED passes every call and opens after `failure_threshold` consecutive failures. OPEN
// rejects every call (allow_request() returns false, so the caller does not call) until
// `recovery_timeout` has passed; next_deadline() is that moment, and the runtime calls
// poll(now) or allow_request(now) then to move to HALF_OPEN. HALF_OPEN admits up to
// `half_open_max_calls` trial calls at a time; `half_open_successes` successes close it, any
// failure reopens it with a new cooldown. reset() closes it by hand. Each transition emits
// exactly one breaker_transition event (to: closed, open, half-open).
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
    std::uint64_t calls{0};       // admitted calls
    std::uint64_t successes{0};
    std::uint64_t failures{0};
    std::uint64_t rejections{0};  // calls refused while open (or half-open and full)
    std::uint64_t to_open{0};     // transitions, by target state
    std::uint64_t to_half_open{0};
    std::uint64_t to_closed{0};
};

class CircuitBreaker {
public:
    explicit CircuitBreaker(CircuitBreakerParams params, EventSource source = {});

    // Asks to make a call now. True admits it (the caller must then report on_success or
    // on_failure); false rejects it and the caller must not call.
    bool allow_request(TimePoint now);
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

private:
    void transition(BreakerState to, TimePoint now, std::string_view detail = {});

    CircuitBreakerParams params_;
    EventSource source_;
    BreakerState state_{BreakerState::closed};
    TimePoint open_until_{};
    std::uint32_t consecutive_failures_{0};
    std::uint32_t half_open_in_flight_{0};
    std::uint32_t half_open_successes_{0};
    BreakerStats stats_;
};

}  // namespace mainstay::resilience
