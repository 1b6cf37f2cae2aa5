#include "resilience/circuit_breaker.hpp"

#include <algorithm>

namespace mainstay::resilience {

std::string_view to_string(BreakerState state) {
    switch (state) {
        case BreakerState::closed: return "closed";
        case BreakerState::open: return "open";
        case BreakerState::half_open: return "half-open";
    }
    return "?";
}

CircuitBreaker::CircuitBreaker(CircuitBreakerParams params, EventSource source)
    : params_(params), source_(std::move(source)) {}

bool CircuitBreaker::allow_request(TimePoint now) {
    poll(now);
    switch (state_) {
        case BreakerState::closed: ++stats_.calls; return true;
        case BreakerState::open: ++stats_.rejections; return false;
        case BreakerState::half_open:
            if (half_open_in_flight_ >= std::max<std::uint32_t>(params_.half_open_max_calls, 1)) {
                ++stats_.rejections;
                return false;
            }
            ++half_open_in_flight_;
            ++stats_.calls;
            return true;
    }
    return false;
}

void CircuitBreaker::on_success(TimePoint now) {
    ++stats_.successes;
    switch (state_) {
        case BreakerState::closed: consecutive_failures_ = 0; break;
        case BreakerState::open: break;  // a call admitted before the breaker opened
        case BreakerState::half_open:
            if (half_open_in_flight_ > 0) --half_open_in_flight_;
            if (++half_open_successes_ >= std::max<std::uint32_t>(params_.half_open_successes, 1)) {
                transition(BreakerState::closed, now);
            }
            break;
    }
}

void CircuitBreaker::on_failure(TimePoint now, std::string_view error) {
    ++stats_.failures;
    ++consecutive_failures_;
    switch (state_) {
        case BreakerState::closed:
            if (consecutive_failures_ >= std::max<std::uint32_t>(params_.failure_threshold, 1)) {
                transition(BreakerState::open, now, error);
            }
            break;
        case BreakerState::open: break;  // already open; the cooldown is not extended
        case BreakerState::half_open: transition(BreakerState::open, now, error); break;
    }
}

void CircuitBreaker::poll(TimePoint now) {
    if (state_ == BreakerState::open && now >= open_until_) transition(BreakerState::half_open, now);
}

void CircuitBreaker::reset(TimePoint now) {
    consecutive_failures_ = 0;
    if (state_ != BreakerState::closed) transition(BreakerState::closed, now, "reset");
}

std::optional<TimePoint> CircuitBreaker::next_deadline() const {
    if (state_ == BreakerState::open) return open_until_;
    return std::nullopt;
}

Duration CircuitBreaker::remaining_cooldown(TimePoint now) const {
    return state_ == BreakerState::open ? remaining(now, open_until_) : Duration{0};
}

void CircuitBreaker::transition(BreakerState to, TimePoint now, std::string_view detail) {
    const BreakerState from = state_;
    state_ = to;
    half_open_in_flight_ = 0;
    half_open_successes_ = 0;
    switch (to) {
        case BreakerState::open:
            open_until_ = now + params_.recovery_timeout;
            ++stats_.to_open;
            break;
        case BreakerState::half_open: ++stats_.to_half_open; break;
        case BreakerState::closed:
            consecutive_failures_ = 0;
            ++stats_.to_closed;
            break;
    }
    source_.emit(EventKind::breaker_transition, now, to_string(from), to_string(to), detail);
}

}  // namespace mainstay::resilience
