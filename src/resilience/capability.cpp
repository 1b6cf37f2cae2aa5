#include "resilience/capability.hpp"

#include <algorithm>
#include <utility>

namespace mainstay::resilience {

std::string_view to_string(CapabilityState state) {
    switch (state) {
        case CapabilityState::degraded:
            return "degraded";
        case CapabilityState::upgrading:
            return "upgrading";
        case CapabilityState::full:
            return "full";
    }
    return "?";
}

std::string_view to_string(CapabilityAction action) {
    switch (action) {
        case CapabilityAction::none:
            return "none";
        case CapabilityAction::check_availability:
            return "check_availability";
        case CapabilityAction::activate:
            return "activate";
        case CapabilityAction::deactivate:
            return "deactivate";
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
    if (running_ == CapabilityAction::deactivate) clear_due_ = false;  // any deactivate clears the outside
    return running_;
}

bool CapabilityUpgrade::hook_queued() const {
    const auto is_hook = [](CapabilityAction a) {
        return a == CapabilityAction::activate || a == CapabilityAction::deactivate;
    };
    return is_hook(pending_) || is_hook(running_);
}

bool CapabilityUpgrade::react(TimePoint now, bool available, std::string_view detail) {
    if (state_ == CapabilityState::full && !available) {
        transition(CapabilityState::degraded, now, detail);
        schedule(CapabilityAction::deactivate, now);
        return true;
    }
    if (state_ == CapabilityState::degraded && available && !held_) {
        transition(CapabilityState::upgrading, now, detail);
        schedule(CapabilityAction::activate, now);
        return true;
    }
    return false;
}

void CapabilityUpgrade::on_availability(TimePoint now, bool available, std::string detail) {
    if (!started_) return;
    if (running_ != CapabilityAction::check_availability) {
        report_availability(now, available, std::move(detail));
        return;
    }
    // The result of the check take_action() handed out.
    running_ = CapabilityAction::none;
    if (hook_queued()) {
        // An unasked report queued a hook while the check ran; the hook runs first and this
        // result only decides how soon the check after it comes.
        unacted_ = available;
        return;
    }
    if (!react(now, available, detail)) {
        schedule(CapabilityAction::check_availability, add_saturating(now, params_.monitor_interval));
        clear_if_due(now);
    }
}

void CapabilityUpgrade::report_availability(TimePoint now, bool available, std::string detail) {
    if (!started_) return;
    if (hook_queued()) {
        unacted_ = available;  // never drop a pending or running hook; its result comes first
        return;
    }
    // A running check stays running (its result is still awaited); a pending one keeps its time.
    react(now, available, detail);
}

void CapabilityUpgrade::release(TimePoint now) {
    if (!held_) return;
    held_ = false;
    if (running_ == CapabilityAction::none && pending_ != CapabilityAction::deactivate) {
        schedule(CapabilityAction::check_availability, now);
    }
}

void CapabilityUpgrade::on_activate_result(TimePoint now, bool ok, std::string error, bool permanent) {
    if (running_ != CapabilityAction::activate) return;
    running_ = CapabilityAction::none;
    const std::optional<bool> reported = std::exchange(unacted_, std::nullopt);
    if (ok) {
        backoff_.reset();
        last_error_.clear();
        transition(CapabilityState::full, now);
        // Reported unavailable while activating: check at once instead of after an interval.
        const bool recheck = reported == false;
        schedule(CapabilityAction::check_availability, recheck ? now : add_saturating(now, params_.monitor_interval));
        return;
    }
    ++activation_failures_;
    last_error_ = std::move(error);
    source_.emit(EventKind::capability_hook_failed, now, {}, {}, "activate: " + last_error_);
    transition(CapabilityState::degraded, now, last_error_);
    if (permanent) held_ = true;  // schedule() now keeps checks and activations away
    schedule(CapabilityAction::check_availability, add_saturating(now, backoff_.next()));
    clear_if_due(now);
}

void CapabilityUpgrade::on_deactivate_result(TimePoint now, bool ok, std::string error) {
    if (running_ != CapabilityAction::deactivate) return;
    running_ = CapabilityAction::none;
    const std::optional<bool> reported = std::exchange(unacted_, std::nullopt);
    if (!ok) {
        last_error_ = std::move(error);
        source_.emit(EventKind::capability_hook_failed, now, {}, {}, "deactivate: " + last_error_);
    }
    // Reported available again since the regression: check at once.
    const bool recheck = reported == true;
    const std::optional<TimePoint> put_off = std::exchange(check_after_clear_, std::nullopt);
    schedule(CapabilityAction::check_availability, recheck   ? now
                                                   : put_off ? std::max(now, *put_off)
                                                             : add_saturating(now, params_.monitor_interval));
}

void CapabilityUpgrade::clear_outside(TimePoint now) {
    if (!started_ || state_ != CapabilityState::degraded) return;  // on its way up: activate sets it
    clear_due_ = true;
    clear_if_due(now);
}

void CapabilityUpgrade::clear_if_due(TimePoint now) {
    if (!clear_due_ || state_ != CapabilityState::degraded || running_ != CapabilityAction::none || hook_queued())
        return;
    clear_due_ = false;
    check_after_clear_ = pending_ == CapabilityAction::check_availability ? due_at_ : now;
    schedule(CapabilityAction::deactivate, now);
}

void CapabilityUpgrade::halt(TimePoint now, std::string_view detail) {
    transition(CapabilityState::degraded, now, detail);
    pending_ = CapabilityAction::none;
    running_ = CapabilityAction::none;
    unacted_.reset();
    clear_due_ = false;
    check_after_clear_.reset();
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
    // Held after a permanent failure: only a `deactivate` (clearing the outside) may still run.
    if (held_ && action != CapabilityAction::deactivate) {
        if (pending_ != CapabilityAction::deactivate) pending_ = CapabilityAction::none;
        return;
    }
    pending_ = action;
    due_at_ = at;
}

}  // namespace mainstay::resilience
