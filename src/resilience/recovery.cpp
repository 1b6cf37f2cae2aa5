#include "resilience/recovery.hpp"

#include <algorithm>

namespace mainstay::resilience {

std::string_view to_string(RecoveryState state) {
    switch (state) {
        case RecoveryState::idle:
            return "idle";
        case RecoveryState::recovering:
            return "recovering";
        case RecoveryState::succeeded:
            return "succeeded";
        case RecoveryState::paused:
            return "paused";
    }
    return "?";
}

BackgroundRecovery::BackgroundRecovery(BackoffParams backoff, RecoveryParams params, Random& random, EventSource source)
    : params_(params), backoff_(backoff, random), source_(std::move(source)) {}

void BackgroundRecovery::begin_episode(TimePoint now) {
    state_ = RecoveryState::recovering;
    started_at_ = now;
    attempts_ = 0;
    valve_attempts_ = 0;
    pause_reason_.clear();
}

std::optional<TimePoint> BackgroundRecovery::budget_end() const {
    if (params_.max_total_time <= Duration{0} || !started_at_) return std::nullopt;
    return add_saturating(*started_at_, params_.max_total_time);
}

std::string BackgroundRecovery::budget_reason() const {
    return "gave up after " + std::to_string(params_.max_total_time.count()) + "ms";
}

void BackgroundRecovery::schedule_next(TimePoint now) {
    next_at_ = add_saturating(now, backoff_.next());
    if (const auto end = budget_end()) next_at_ = std::min(next_at_, *end);
}

void BackgroundRecovery::start(TimePoint now, std::string reason) {
    if (state_ == RecoveryState::recovering || state_ == RecoveryState::paused) return;
    begin_episode(now);
    running_ = false;
    last_error_ = std::move(reason);
    schedule_next(now);
}

void BackgroundRecovery::stop() {
    state_ = RecoveryState::idle;
    running_ = false;
}

std::optional<std::uint32_t> BackgroundRecovery::begin_attempt(TimePoint now) {
    if (state_ != RecoveryState::recovering || running_ || now < next_at_) return std::nullopt;
    // Only postpone() can put the attempt past the budget; it does not start then.
    if (const auto end = budget_end(); end && next_at_ > *end) {
        pause(now, budget_reason());
        return std::nullopt;
    }
    running_ = true;
    ++attempts_;
    ++valve_attempts_;
    source_.emit(EventKind::recovery_attempt, now, {}, {}, "attempt " + std::to_string(attempts_));
    return attempts_;
}

RecoveryState BackgroundRecovery::on_attempt_result(TimePoint now, bool ok, std::string error) {
    if (state_ != RecoveryState::recovering || !running_) return state_;
    running_ = false;
    if (ok) {
        state_ = RecoveryState::succeeded;
        last_error_.clear();
        source_.emit(EventKind::recovery_succeeded, now, {}, {}, "after " + std::to_string(attempts_) + " attempt(s)");
        return state_;
    }
    last_error_ = std::move(error);
    if (params_.max_attempts > 0 && valve_attempts_ >= params_.max_attempts) {
        pause(now, "gave up after " + std::to_string(valve_attempts_) + " attempts");
    } else if (const auto end = budget_end(); end && now >= *end) {
        pause(now, budget_reason());
    } else {
        schedule_next(now);
    }
    return state_;
}

void BackgroundRecovery::pause(TimePoint now, std::string reason) {
    state_ = RecoveryState::paused;
    pause_reason_ = std::move(reason);
    std::string detail = pause_reason_;
    if (!last_error_.empty()) detail += ": " + last_error_;
    source_.emit(EventKind::recovery_paused, now, {}, {}, detail);
}

void BackgroundRecovery::conditions_changed(TimePoint now) {
    if (state_ != RecoveryState::recovering || running_ || next_at_ <= now) return;
    const double fraction = std::clamp(params_.wake_fraction, 0.0, 1.0);
    const auto left = std::chrono::duration_cast<Duration>(next_at_ - now);
    const auto wait = static_cast<Duration::rep>(static_cast<double>(left.count()) * fraction);
    next_at_ = add_saturating(now, Duration{wait});
}

void BackgroundRecovery::postpone(TimePoint until) {
    if (state_ == RecoveryState::recovering && !running_) next_at_ = std::max(next_at_, until);
}

void BackgroundRecovery::resume(TimePoint now) {
    if (state_ == RecoveryState::paused) {
        begin_episode(now);
        backoff_.reset();
        running_ = false;
        next_at_ = now;
        source_.emit(EventKind::recovery_resumed, now);
    } else if (state_ == RecoveryState::recovering) {
        // Already recovering: restart the valve and the backoff and try now (unless an attempt
        // is running: it keeps its number). Nothing was resumed, so no event.
        started_at_ = now;
        valve_attempts_ = 0;
        backoff_.reset();
        if (!running_) next_at_ = now;
    }
}

std::optional<TimePoint> BackgroundRecovery::next_deadline() const {
    if (state_ != RecoveryState::recovering || running_) return std::nullopt;
    return next_at_;
}

}  // namespace mainstay::resilience
