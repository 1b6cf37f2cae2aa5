#include "resilience/retry.hpp"

namespace mainstay::resilience {

std::string_view to_string(RetryState state) {
    switch (state) {
        case RetryState::idle:
            return "idle";
        case RetryState::waiting:
            return "waiting";
        case RetryState::attempting:
            return "attempting";
        case RetryState::succeeded:
            return "succeeded";
        case RetryState::failed_permanent:
            return "failed_permanent";
        case RetryState::exhausted:
            return "exhausted";
    }
    return "?";
}

RetryPolicy::RetryPolicy(RetryParams params, Random& random, EventSource source)
    : params_(params), backoff_(params.backoff, random), source_(std::move(source)) {}

bool RetryPolicy::finished() const {
    return state_ == RetryState::succeeded || state_ == RetryState::failed_permanent || state_ == RetryState::exhausted;
}

void RetryPolicy::begin(TimePoint now) {
    backoff_.reset();
    attempts_ = 0;
    timeouts_ = 0;
    last_error_.clear();
    state_ = RetryState::waiting;
    deadline_ = now;
}

std::optional<std::uint32_t> RetryPolicy::start_attempt(TimePoint now) {
    if (state_ != RetryState::waiting || !deadline_ || now < *deadline_) return std::nullopt;
    ++attempts_;
    state_ = RetryState::attempting;
    deadline_ = params_.timeout > Duration{0} ? std::optional(add_saturating(now, params_.timeout)) : std::nullopt;
    return attempts_;
}

RetryState RetryPolicy::on_result(TimePoint now, const Outcome& outcome) {
    if (state_ != RetryState::attempting) return state_;
    deadline_.reset();
    switch (outcome.kind) {
        case Outcome::Kind::success:
            state_ = RetryState::succeeded;
            return state_;
        case Outcome::Kind::permanent_failure:
            last_error_ = outcome.error;
            state_ = RetryState::failed_permanent;
            source_.emit(EventKind::retry_failed_permanent, now, {}, {}, last_error_);
            return state_;
        case Outcome::Kind::timeout:
            ++timeouts_;
            last_error_ = outcome.error.empty() ? "timed out after " + std::to_string(params_.timeout.count()) + "ms"
                                                : outcome.error;
            source_.emit(EventKind::timeout, now, {}, {}, last_error_);
            break;
        case Outcome::Kind::transient_failure:
            last_error_ = outcome.error;
            break;
    }
    if (attempts_ >= at_least_one(params_.max_attempts)) {
        state_ = RetryState::exhausted;
        source_.emit(EventKind::retry_exhausted, now, {}, {}, last_error_);
        return state_;
    }
    state_ = RetryState::waiting;
    deadline_ = add_saturating(now, backoff_.next());
    source_.emit(EventKind::retry_attempt, now, {}, {}, last_error_);
    return state_;
}

}  // namespace mainstay::resilience
