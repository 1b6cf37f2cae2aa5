#include "supervisor/capability.hpp"

#include <algorithm>
#include <csignal>

#include "config/values.hpp"

namespace mainstay::supervisor {

using resilience::CapabilityAction;
using resilience::CapabilityState;

Capability::Capability(const config::CapabilitySpec& spec, Id id, Observer& observer, resilience::Random& random,
                       resilience::EventSink* events)
    : spec_(spec), id_(id), observer_(observer) {
    for (const auto& tier : spec_.chain()) lanes_.emplace_back(tier, spec_, random, events);
}

void Capability::start(World& world, const Unmet& unmet) {
    for (Lane& lane : lanes_) {
        lane.unmet = unmet(lane.tier.requires_services);
        lane.met = lane.unmet.empty();
    }
    started_ = true;
    since_ = world.now();
    for (Lane& lane : lanes_) lane.machine.start(world.now());
    act(world);
}

void Capability::requirements_changed(World& world, const Unmet& unmet) {
    for (Lane& lane : lanes_) {
        lane.unmet = unmet(lane.tier.requires_services);  // kept current: the mode line says why
        const bool met = lane.unmet.empty();
        if (!started_ || halted_ || met == lane.met) continue;
        lane.met = met;
        if (!met) {
            lane.machine.report_availability(world.now(), false, lane.unmet);
        } else {
            lane.machine.conditions_changed(world.now());  // check now rather than at the next interval
        }
    }
    act(world);
}

std::optional<std::string> Capability::blocked_by(std::size_t i) const {
    if (hold_ && i < *hold_) {
        return *hold_ < lanes_.size() ? "held at tier " + lanes_[*hold_].tier.name + " by mainstay downgrade"
                                      : std::string("held by mainstay downgrade");
    }
    for (std::size_t j = 0; j < i; ++j) {
        if (lanes_[j].up()) return "tier " + lanes_[j].tier.name + " is active";
    }
    return std::nullopt;
}

void Capability::gate(World& world) {
    if (!started_ || halted_) return;
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
        Lane& lane = lanes_[i];
        const auto why = blocked_by(i);
        if (why && !lane.blocked) {
            lane.blocked = true;
            if (lane.up()) lane.machine.report_availability(world.now(), false, *why);
        } else if (!why && lane.blocked) {
            lane.blocked = false;
            if (lane.met) lane.machine.conditions_changed(world.now());
        }
    }
}

std::string Capability::label(std::size_t i, CapabilityAction action) const {
    return spec_.name + "/" + (tiered() ? lanes_[i].tier.name + "/" : std::string()) + std::string(to_string(action));
}

bool Capability::step(World& world) {
    if (halted_ || hook_pid_ || check_lane_) return false;  // one action at a time
    std::optional<std::size_t> due;
    for (std::size_t i = 0; i < lanes_.size() && !due; ++i) {  // the best tier first
        auto at = lanes_[i].machine.next_deadline();
        if (at && *at <= world.now()) due = i;
    }
    if (!due) return false;
    const std::size_t i = *due;
    Lane& lane = lanes_[i];
    const CapabilityAction action = lane.machine.take_action(world.now());
    if (action == CapabilityAction::none) return false;
    if (action == CapabilityAction::check_availability) {
        if (!lane.met) {
            lane.machine.on_availability(world.now(), false, "a required service is not ready");
        } else if (auto why = blocked_by(i)) {
            lane.machine.on_availability(world.now(), false, *why);  // no need to ask its check
        } else if (lane.tier.check) {
            check_lane_ = i;
            world.start_probe(id_, ProbeKind::readiness, *lane.tier.check);
        } else {
            lane.machine.on_availability(world.now(), true);
        }
        return true;
    }
    const auto& argv = action == CapabilityAction::activate ? lane.tier.activate : lane.tier.deactivate;
    hook_ = action;
    hook_lane_ = i;
    if (!argv) {
        hook_done(world, true, {});  // nothing to run: done
        return true;
    }
    StartResult started = world.start_command(label(i, action), *argv);
    if (!started.pid) {
        hook_done(world, false, started.error);
        return true;
    }
    hook_pid_ = started.pid;
    hook_deadline_ = resilience::add_saturating(world.now(), spec_.hook_retry.timeout);
    return true;
}

void Capability::act(World& world) {
    // Each action may finish at once (no check, no hook): go on until one runs or none is due.
    for (std::size_t guard = 0; guard < 8 * lanes_.size(); ++guard) {
        gate(world);
        if (!step(world)) break;
    }
    gate(world);
    report(world);
}

std::optional<std::size_t> Capability::active() const {
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
        if (lanes_[i].machine.state() == CapabilityState::full) return i;
    }
    return std::nullopt;
}

CapabilityState Capability::state() const {
    if (!tiered()) return lanes_[0].machine.state();
    if (lanes_[0].machine.state() == CapabilityState::full) return CapabilityState::full;
    for (const Lane& lane : lanes_) {
        if (lane.machine.state() == CapabilityState::upgrading) return CapabilityState::upgrading;
    }
    return CapabilityState::degraded;
}

std::optional<std::string> Capability::tier() const {
    if (auto i = active()) return lanes_[*i].tier.name;
    return std::nullopt;
}

std::vector<std::string> Capability::tiers() const {
    std::vector<std::string> out;
    for (const Lane& lane : lanes_) out.push_back(lane.tier.name);
    return out;
}

bool Capability::held() const {
    return hold_.has_value() ||
           std::any_of(lanes_.begin(), lanes_.end(), [](const Lane& l) { return l.machine.held(); });
}

std::optional<std::string> Capability::held_at() const {
    if (!hold_) return std::nullopt;
    return *hold_ < lanes_.size() ? lanes_[*hold_].tier.name : std::string();
}

void Capability::report(World& world) {
    const CapabilityState now_state = state();
    const auto now_tier = active();
    if (now_state == logged_ && now_tier == logged_tier_) return;
    observer_.record(
        {Transition::Subject::capability, spec_.name, logged_, now_state, reason(), std::nullopt, std::nullopt});
    logged_ = now_state;
    logged_tier_ = now_tier;
    since_ = world.now();
    const bool failed =
        std::any_of(lanes_.begin(), lanes_.end(), [](const Lane& l) { return l.machine.activation_failures() > 0; });
    std::string line = "capability " + spec_.name + ": " + std::string(to_string(logged_));
    if (tiered()) {
        const std::string why = reason();
        line += why.empty() ? ", tier " + lanes_[0].tier.name : ", " + why;
    } else if (logged_ != CapabilityState::full) {
        // A failed hook says most; else, when degraded, the required service that is not there.
        const Lane& lane = lanes_[0];
        if (!lane.machine.last_error().empty())
            line += " (" + lane.machine.last_error() + ")";
        else if (hold_)
            line += " (" + *blocked_by(0) + ")";
        else if (logged_ == CapabilityState::degraded && !lane.met && !lane.unmet.empty())
            line += " (" + lane.unmet + ")";
    }
    observer_.log(logged_ == CapabilityState::degraded && failed ? config::LogLevel::warn : config::LogLevel::info,
                  line);
}

std::string Capability::why_not(std::size_t i) const {
    const Lane& lane = lanes_[i];
    if (auto why = blocked_by(i)) return *why;
    if (!lane.met && !lane.unmet.empty()) return lane.unmet;
    if (!lane.machine.last_error().empty())
        return std::string(to_string(lane.failed_hook)) + ": " + lane.machine.last_error();
    if (!lane.check_error.empty()) return lane.check_error;
    if (lane.machine.state() == CapabilityState::upgrading) return "activating";
    return "checking";
}

std::string Capability::reason() const {
    if (state() == CapabilityState::full) return {};
    if (!tiered()) {
        const Lane& lane = lanes_[0];
        if (hold_) return *blocked_by(0);
        if (!lane.met && !lane.unmet.empty()) return lane.unmet;
        return own_reason();
    }
    const auto on = active();
    return (on ? "tier " + lanes_[*on].tier.name : std::string("no tier")) + "; " + lanes_[0].tier.name + ": " +
           why_not(0);
}

std::string Capability::own_reason() const {
    for (const Lane& lane : lanes_) {
        if (!lane.machine.last_error().empty()) {
            return (tiered() ? lane.tier.name + " " : std::string()) + std::string(to_string(lane.failed_hook)) + ": " +
                   lane.machine.last_error();
        }
    }
    for (const Lane& lane : lanes_) {
        if (!lane.check_error.empty()) return (tiered() ? lane.tier.name + " " : std::string()) + lane.check_error;
    }
    return {};
}

std::vector<std::pair<std::string, std::string>> Capability::better_tiers() const {
    std::vector<std::pair<std::string, std::string>> out;
    const std::size_t end = active().value_or(lanes_.size());
    for (std::size_t i = 0; i < end; ++i) out.emplace_back(lanes_[i].tier.name, why_not(i));
    return out;
}

void Capability::hook_done(World& world, bool ok, const std::string& error, bool permanent) {
    if (hook_lane_) {
        Lane& lane = lanes_[*hook_lane_];
        if (!ok) lane.failed_hook = hook_;
        if (hook_ == CapabilityAction::activate)
            lane.machine.on_activate_result(world.now(), ok, error, permanent);
        else
            lane.machine.on_deactivate_result(world.now(), ok, error);
    }
    hook_ = CapabilityAction::none;
    hook_lane_.reset();
}

void Capability::on_timer(World& world) {
    if (hook_pid_ && hook_deadline_ && world.now() >= *hook_deadline_) {
        world.signal_group(*hook_pid_, SIGKILL);  // its exit will report the failure
        hook_deadline_.reset();
    }
    act(world);
}

void Capability::on_check_result(World& world, bool ok, const std::string& detail) {
    if (halted_ || !check_lane_) return;
    const std::size_t i = *check_lane_;
    check_lane_.reset();
    Lane& lane = lanes_[i];
    lane.check_error = ok ? std::string() : "check failed: " + detail;
    lane.machine.on_availability(world.now(), ok && lane.met && !blocked_by(i), lane.check_error);
    act(world);
}

bool Capability::on_exit(World& world, int pid, const ExitStatus& status) {
    if (hook_pid_ != pid) return false;
    world.signal_group(pid, SIGKILL);
    hook_pid_.reset();
    const bool timed_out = !hook_deadline_.has_value() && !status.success();
    hook_deadline_.reset();
    const auto& codes = spec_.permanent_exit_codes;
    const bool permanent =
        !timed_out && status.code && std::find(codes.begin(), codes.end(), *status.code) != codes.end();
    std::string what =
        timed_out ? "timed out after " + config::format_duration(spec_.hook_retry.timeout) : status.describe();
    if (permanent) what += " (a permanent exit code)";
    if (permanent && hook_ == CapabilityAction::activate)
        what += ": not tried again until mainstay resume " + spec_.name;
    if (!halted_) {
        hook_done(world, status.success(), what, permanent);
        act(world);
        return true;
    }
    if (hook_ == CapabilityAction::deactivate && !status.success()) {
        observer_.log(config::LogLevel::warn, "capability " + spec_.name + ": deactivate at shutdown: " + what);
    }
    hook_ = CapabilityAction::none;
    hook_lane_.reset();
    if (deactivate_after_kill_) {
        last_deactivates_.insert(last_deactivates_.begin(), *deactivate_after_kill_);
        deactivate_after_kill_.reset();
    }
    run_last_deactivates(world);
    return true;
}

std::string Capability::resume_by_hand(World& world) {
    const bool any = std::any_of(lanes_.begin(), lanes_.end(), [](const Lane& l) { return l.machine.held(); });
    if (!any) {
        return "capability " + spec_.name + " is " + std::string(resilience::to_string(state())) +
               ": nothing to resume";
    }
    observer_.log(config::LogLevel::info, "capability " + spec_.name + ": resume requested");
    for (Lane& lane : lanes_) {
        if (lane.machine.held()) lane.machine.release(world.now());
    }
    act(world);
    return {};
}

std::string Capability::upgrade(World& world) {
    if (halted_) return "capability " + spec_.name + ": shutting down";
    std::string line = "capability " + spec_.name + ": upgrade requested: every tier is checked now";
    if (hold_)
        line += "; the hold at " + (held_at()->empty() ? std::string("no tier") : "tier " + *held_at()) + " ends";
    observer_.log(config::LogLevel::info, line);
    const bool was_held = hold_.has_value();
    hold_.reset();
    for (Lane& lane : lanes_) {
        if (lane.machine.held()) lane.machine.release(world.now());
        lane.machine.conditions_changed(world.now());
    }
    if (was_held) {
        observer_.record({Transition::Subject::capability, spec_.name, state(), state(),
                          "hold ended by mainstay upgrade", std::nullopt, std::nullopt});
    }
    act(world);
    return {};
}

std::string Capability::downgrade(World& world, const std::optional<std::string>& to) {
    if (halted_) return "capability " + spec_.name + ": shutting down";
    std::size_t target = 0;
    if (to) {
        auto it = std::find_if(lanes_.begin(), lanes_.end(), [&](const Lane& l) { return l.tier.name == *to; });
        if (it == lanes_.end()) {
            std::string names;
            for (const Lane& l : lanes_) names += (names.empty() ? "" : ", ") + l.tier.name;
            return "capability " + spec_.name + " has no tier '" + *to + "' (its tiers: " + names + ")";
        }
        target = static_cast<std::size_t>(it - lanes_.begin());
    } else {
        const auto on = active();
        target = on ? *on + 1 : std::min(hold_.value_or(0) + 1, lanes_.size());
    }
    hold_ = target;
    const std::string where = target < lanes_.size() ? "tier " + lanes_[target].tier.name : std::string("no tier");
    observer_.log(config::LogLevel::info, "capability " + spec_.name + ": held at " + where +
                                              " by mainstay downgrade (until mainstay upgrade)");
    observer_.record({Transition::Subject::capability, spec_.name, state(), state(),
                      "held at " + where + " by mainstay downgrade", std::nullopt, std::nullopt});
    act(world);
    return {};
}

void Capability::startup_ended(World& world) {
    if (!started_ || halted_ || startup_ended_) return;
    startup_ended_ = true;
    bool any = false;
    for (Lane& lane : lanes_) {
        if (lane.machine.state() != CapabilityState::degraded) continue;
        if (tiered() && !lane.tier.deactivate) continue;  // nothing to clear
        lane.machine.clear_outside(world.now());
        any = true;
    }
    if (!any) return;
    observer_.log(config::LogLevel::info, "capability " + spec_.name +
                                              ": degraded at the end of the startup phase: deactivate runs once" +
                                              (tiered() ? " for each tier not active" : ""));
    if (!hook_pid_) act(world);  // else it comes after the running hook
}

void Capability::shut_down(World& world) {
    if (halted_) return;
    halted_ = true;
    world.cancel_probe(id_, ProbeKind::readiness);
    check_lane_.reset();
    std::vector<std::size_t> up;
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
        if (lanes_[i].up()) up.push_back(i);
        lanes_[i].machine.halt(world.now(), "shutting down");
    }
    if (!up.empty()) {
        logged_ = CapabilityState::degraded;
        logged_tier_.reset();
        since_ = world.now();
        observer_.log(config::LogLevel::info, "capability " + spec_.name + ": degraded (shutting down)");
    }
    if (hook_pid_ && hook_ == CapabilityAction::activate) {
        // Its exit brings the last deactivate: the two never run at once.
        world.signal_group(*hook_pid_, SIGKILL);
        hook_deadline_.reset();
        deactivate_after_kill_ = hook_lane_;
        std::erase(up, *hook_lane_);
        last_deactivates_ = up;
        return;
    }
    last_deactivates_ = up;
    if (hook_pid_) {
        if (hook_lane_) std::erase(last_deactivates_, *hook_lane_);
        return;  // a deactivate already runs, with its timeout
    }
    run_last_deactivates(world);
}

void Capability::run_last_deactivates(World& world) {
    while (!hook_pid_ && !last_deactivates_.empty()) {
        const std::size_t i = last_deactivates_.front();
        last_deactivates_.erase(last_deactivates_.begin());
        const auto& argv = lanes_[i].tier.deactivate;
        if (!argv) continue;
        hook_ = CapabilityAction::deactivate;
        hook_lane_ = i;
        StartResult started = world.start_command(label(i, CapabilityAction::deactivate), *argv);
        if (!started.pid) {
            observer_.log(config::LogLevel::warn,
                          "capability " + spec_.name + ": deactivate at shutdown: " + started.error);
            continue;
        }
        hook_pid_ = started.pid;
        hook_deadline_ = resilience::add_saturating(world.now(), spec_.hook_retry.timeout);
    }
}

void Capability::kill(World& world) {
    halted_ = true;
    deactivate_after_kill_.reset();
    last_deactivates_.clear();
    world.cancel_probe(id_, ProbeKind::readiness);
    if (hook_pid_) world.signal_group(*hook_pid_, SIGKILL);  // its deadline stays: the exit is no timeout
}

bool Capability::winding_down() const {
    return halted_ && (hook_pid_.has_value() || deactivate_after_kill_.has_value() || !last_deactivates_.empty());
}

std::optional<TimePoint> Capability::next_deadline() const {
    if (hook_pid_) return hook_deadline_;
    if (halted_ || check_lane_) return std::nullopt;  // a check's result comes by itself
    std::optional<TimePoint> next;
    for (const Lane& lane : lanes_) {
        auto at = lane.machine.next_deadline();
        if (at && (!next || *at < *next)) next = at;
    }
    return next;
}

}  // namespace mainstay::supervisor
