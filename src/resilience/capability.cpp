#include "resilience/capability.hpp"

namespace mainstay::resilience {

std::string_view to_string(CapabilityState state) {
    switch (state) {
        case CapabilityState::degraded: return "degraded";
        case CapabilityState::upgrading: return "upgrading";
        case CapabilityState::full: return "full";
    }
    return "?";
}

std::string_view to_string(CapabilityAction action) {
    switch (action) {
        case CapabilityAction::none: return "none";
        case CapabilityAction::check_availability: return "check_availability";
        case CapabilityAction::activate: return "activate";
        case CapabilityAction::deactivate: return "deactivate";
    }
    return "?";
}

CapabilityUpgrade::CapabilityUpgrade(CapabilityParams params, Random& random, EventSource source)
    : params_(params), backoff_(params.backoff, random), source_(std::move(source)) {}

void CapabilityUpgrade::start(TimePoint now) {
    if (started_) return;
    started_ = true;
    schedule(CapabilityAction::check_availability, now);
}

CapabilityAction CapabilityUpgrade::take_action(TimePoint now) {
    if (running_ != CapabilityAction::none || pending_ == CapabilityAction::none || now < due_at_) {
        return CapabilityAction::none;
    }
    running_ = pending_;
    pending_ = CapabilityAction::none;
    return running_;
}

void CapabilityUpgrade::on_availability(TimePoint now, bool available, std::string detail) {
    // A hook is running: its result decides what comes next, and the next check sees the change.
    if (running_ == CapabilityAction::activate || running_ == CapabilityAction::deactivate) return;
    if (!started_) return;
    running_ = CapabilityAction::none;
    if (state_ == CapabilityState::full && !available) {
        transition(CapabilityState::degraded, now, detail);
        schedule(CapabilityAction::deactivate, now);
    } else if (state_ == CapabilityState::degraded && available) {
        transition(CapabilityState::upgrading, now, detail);
        schedule(CapabilityAction::activate, now);
    } else {
        schedule(CapabilityAction::check_availability, now + params_.monitor_interval);
    }
}

void CapabilityUpgrade::on_activate_result(TimePoint now, bool ok, std::string error) {
    if (running_ != CapabilityAction::activate) return;
    running_ = CapabilityAction::none;
    if (ok) {
        backoff_.reset();
        last_error_.clear();
        transition(CapabilityState::full, now);
        schedule(CapabilityAction::check_availability, now + params_.monitor_interval);
        return;
    }
    ++activation_failures_;
    last_error_ = std::move(error);
    source_.emit(EventKind::capability_hook_failed, now, {}, {}, "activate: " + last_error_);
    transition(CapabilityState::degraded, now, last_error_);
    schedule(CapabilityAction::check_availability, now + backoff_.next());
}

void CapabilityUpgrade::on_deactivate_result(TimePoint now, bool ok, std::string error) {
    if (running_ != CapabilityAction::deactivate) return;
    running_ = CapabilityAction::none;
    if (!ok) {
        last_error_ = std::move(error);
        source_.emit(EventKind::capability_hook_failed, now, {}, {}, "deactivate: " + last_error_);
    }
    schedule(CapabilityAction::check_availability, now + params_.monitor_interval);
}

void CapabilityUpgrade::conditions_changed(TimePoint now) {
    if (pending_ == CapabilityAction::check_availability && running_ == CapabilityAction::none && due_at_ > now) {
        due_at_ = now;
    }
}

std::optional<TimePoint> CapabilityUpgrade::next_deadline() const {
    if (running_ != CapabilityAction::none || pending_ == CapabilityAction::none) return std::nullopt;
    return due_at_;
}

void CapabilityUpgrade::transition(CapabilityState to, TimePoint now, std::string_view detail) {
    const CapabilityState from = state_;
    if (from == to) return;
    state_ = to;
    source_.emit(EventKind::capability_transition, now, to_string(from), to_string(to), detail);
}

void CapabilityUpgrade::schedule(CapabilityAction action, TimePoint at) {
    pending_ = action;
    due_at_ = at;
}

}  // namespace mainstay::resilience
