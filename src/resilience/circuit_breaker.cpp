#include "resilience/circuit_breaker.hpp"

namespace mainstay::resilience {

std::string_view to_string(BreakerState state) {
    switch (state) {
        case BreakerState::closed:
            return "closed";
        case BreakerState::open:
            return "open";
        case BreakerState::half_open:
            return "half-open";
    }
    return "?";
}

CircuitBreaker::CircuitBreaker(CircuitBreakerParams params, EventSource source)
    : params_(params), source_(std::move(source)) {}

BreakerPermit CircuitBreaker::allow_request(TimePoint now) {
    poll(now);
    switch (state_) {
        case BreakerState::closed:
            ++stats_.calls;
            return {true, generation_};
        case BreakerState::open:
            ++stats_.rejections;
            return {};
        case BreakerState::half_open:
            if (half_open_in_flight_ >= at_least_one(params_.half_open_max_calls)) {
                ++stats_.rejections;
                return {};
            }
            ++half_open_in_flight_;
            ++stats_.calls;
            return {true, generation_};
    }
    return {};
}

void CircuitBreaker::on_success(TimePoint now, const BreakerPermit& permit) {
    if (!permit.admitted) return;  // nothing was called
    ++stats_.successes;
    stats_.last_success = now;
    if (permit.generation == generation_) count_success(now);
}

void CircuitBreaker::on_failure(TimePoint now, const BreakerPermit& permit, std::string_view error) {
    if (!permit.admitted) return;
    ++stats_.failures;
    stats_.last_failure = now;
    if (permit.generation == generation_) count_failure(now, error);
}

void CircuitBreaker::on_success(TimePoint now) {
    ++stats_.successes;
    stats_.last_success = now;
    // HALF_OPEN with no trial in flight: a late result of a call admitted before.
    if (state_ == BreakerState::half_open && half_open_in_flight_ == 0) return;
    count_success(now);
}

void CircuitBreaker::on_failure(TimePoint now, std::string_view error) {
    ++stats_.failures;
    stats_.last_failure = now;
    if (state_ == BreakerState::half_open && half_open_in_flight_ == 0) return;
    count_failure(now, error);
}

void CircuitBreaker::count_success(TimePoint now) {
    switch (state_) {
        case BreakerState::closed:
            consecutive_failures_ = 0;
            break;
        case BreakerState::open:
            break;  // a call admitted before the breaker opened
        case BreakerState::half_open:
            if (half_open_in_flight_ > 0) --half_open_in_flight_;
            if (++half_open_successes_ >= at_least_one(params_.half_open_successes)) {
                transition(BreakerState::closed, now);
            }
            break;
    }
}

void CircuitBreaker::count_failure(TimePoint now, std::string_view error) {
    switch (state_) {
        case BreakerState::closed:
            if (++consecutive_failures_ >= at_least_one(params_.failure_threshold)) {
                transition(BreakerState::open, now, error);
            }
            break;
        case BreakerState::open:
            break;  // already open; the cooldown is not extended
        case BreakerState::half_open:
            ++consecutive_failures_;
            transition(BreakerState::open, now, error);
            break;
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
    ++generation_;  // results of calls admitted before this point are late from now on
    half_open_in_flight_ = 0;
    half_open_successes_ = 0;
    switch (to) {
        case BreakerState::open:
            open_until_ = add_saturating(now, params_.recovery_timeout);
            ++stats_.to_open;
            break;
        case BreakerState::half_open:
            ++stats_.to_half_open;
            break;
        case BreakerState::closed:
            consecutive_failures_ = 0;
            ++stats_.to_closed;
            break;
    }
    source_.emit(EventKind::breaker_transition, now, to_string(from), to_string(to), detail);
}

}  // namespace mainstay::resilience
