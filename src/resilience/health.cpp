#include "resilience/health.hpp"

namespace mainstay::resilience {

std::string_view to_string(HealthState state) {
    switch (state) {
        case HealthState::unknown:
            return "unknown";
        case HealthState::healthy:
            return "healthy";
        case HealthState::unhealthy:
            return "unhealthy";
    }
    return "?";
}

std::string_view to_string(ProbeStatus status) {
    switch (status) {
        case ProbeStatus::success:
            return "success";
        case ProbeStatus::failure:
            return "failure";
        case ProbeStatus::timeout:
            return "timeout";
        case ProbeStatus::permanent_failure:
            return "permanent failure";
    }
    return "?";
}

HealthTracker::HealthTracker(HealthParams params, EventSource source) : params_(params), source_(std::move(source)) {}

std::optional<ProbeResult> HealthTracker::cached(TimePoint now) const {
    if (!last_ || params_.cache_ttl <= Duration{0}) return std::nullopt;
    if (now >= add_saturating(last_->at, params_.cache_ttl)) return std::nullopt;
    return last_;
}

bool HealthTracker::needs_probe(TimePoint now, bool force) const {
    return force || !cached(now).has_value();
}

std::optional<TimePoint> HealthTracker::next_deadline() const {
    if (!last_ || params_.cache_ttl <= Duration{0}) return std::nullopt;
    return add_saturating(last_->at, params_.cache_ttl);
}

HealthState HealthTracker::record(TimePoint now, ProbeStatus status, std::string detail) {
    if (status == ProbeStatus::timeout) {
        ++timeouts_;
        if (detail.empty()) detail = "timed out";
        source_.emit(EventKind::timeout, now, {}, {}, detail);
    }
    if (status == ProbeStatus::success) {
        ++consecutive_successes_;
        consecutive_failures_ = 0;
        if (state_ != HealthState::healthy && consecutive_successes_ >= at_least_one(params_.success_threshold)) {
            transition(HealthState::healthy, now, detail);
        }
    } else {
        ++consecutive_failures_;
        ++total_failures_;
        consecutive_successes_ = 0;
        if (state_ != HealthState::unhealthy && consecutive_failures_ >= at_least_one(params_.failure_threshold)) {
            transition(HealthState::unhealthy, now, detail);
        }
    }
    last_ = ProbeResult{status, std::move(detail), now};
    return state_;
}

void HealthTracker::reset(TimePoint now) {
    consecutive_failures_ = 0;
    consecutive_successes_ = 0;
    last_.reset();
    if (state_ != HealthState::unknown) transition(HealthState::unknown, now, "reset");
}

void HealthTracker::transition(HealthState to, TimePoint now, std::string_view detail) {
    const HealthState from = state_;
    state_ = to;
    source_.emit(EventKind::health_transition, now, to_string(from), to_string(to), detail);
}

}  // namespace mainstay::resilience
