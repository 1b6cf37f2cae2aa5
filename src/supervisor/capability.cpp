#include "supervisor/capability.hpp"

#include <algorithm>
#include <csignal>

#include "config/values.hpp"

namespace mainstay::supervisor {

using resilience::CapabilityAction;
using resilience::CapabilityState;

Capability::Capability(const config::CapabilitySpec& spec, Id id, resilience::Random& random,
                       resilience::EventSink* events)
    : spec_(spec),
      id_(id),
      machine_({spec_.monitor_interval, spec_.hook_retry.backoff}, random, {events, spec_.name, "capability"}) {}

void Capability::start(World& world, bool requirements_met) {
    met_ = requirements_met;
    started_ = true;
    since_ = world.now();
    machine_.start(world.now());
    act(world);
}

void Capability::requirements_changed(World& world, const std::string& unmet) {
    const bool met = unmet.empty();
    unmet_ = unmet;  // kept current: the mode line says why it is degraded
    if (!started_ || halted_ || met == met_) return;
    met_ = met;
    if (!met) {
        machine_.report_availability(world.now(), false, unmet);
    } else {
        machine_.conditions_changed(world.now());  // check now rather than at the next interval
    }
    act(world);
}

void Capability::act(World& world) {
    // Each action may finish at once (no check, no hook): go on until one runs or none is due.
    for (int guard = 0; guard < 8 && !halted_; ++guard) {
        auto due = machine_.next_deadline();
        if (!due || *due > world.now()) break;
        const CapabilityAction action = machine_.take_action(world.now());
        if (action == CapabilityAction::none) break;
        if (action == CapabilityAction::check_availability) {
            if (!met_) {
                machine_.on_availability(world.now(), false, "a required service is not ready");
            } else if (spec_.check) {
                world.start_probe(id_, ProbeKind::readiness, *spec_.check);
                break;  // the result comes later
            } else {
                machine_.on_availability(world.now(), true);
            }
            continue;
        }
        const auto& argv = action == CapabilityAction::activate ? spec_.activate : spec_.deactivate;
        hook_ = action;
        if (!argv) {
            hook_done(world, true, {});  // nothing to run: done
            continue;
        }
        StartResult started = world.start_command(spec_.name + "/" + std::string(to_string(action)), *argv);
        if (!started.pid) {
            hook_done(world, false, started.error);
            continue;
        }
        hook_pid_ = started.pid;
        hook_deadline_ = resilience::add_saturating(world.now(), spec_.hook_retry.timeout);
        break;
    }
    if (machine_.state() != logged_) {
        world.record({Transition::Subject::capability, spec_.name, std::string(to_string(logged_)),
                      std::string(to_string(machine_.state())), reason(), std::nullopt, std::nullopt});
        logged_ = machine_.state();
        since_ = world.now();
        world.log(logged_ == CapabilityState::degraded && machine_.activation_failures() > 0 ? config::LogLevel::warn
                                                                                              : config::LogLevel::info,
                  "capability " + spec_.name + ": " + std::string(to_string(logged_)) + why_line());
    }
}

std::string Capability::why_line() const {
    if (logged_ == CapabilityState::full) return {};
    // A failed hook says most; else, when degraded, the required service that is not there.
    if (!machine_.last_error().empty()) return " (" + machine_.last_error() + ")";
    if (logged_ == CapabilityState::degraded && !met_ && !unmet_.empty()) return " (" + unmet_ + ")";
    return {};
}

std::string Capability::reason() const {
    if (state() == CapabilityState::full) return {};
    if (!met_ && !unmet_.empty()) return unmet_;
    return own_reason();
}

std::string Capability::own_reason() const {
    if (!machine_.last_error().empty()) return std::string(to_string(failed_hook_)) + ": " + machine_.last_error();
    return check_error_;
}

void Capability::hook_done(World& world, bool ok, const std::string& error, bool permanent) {
    if (!ok) failed_hook_ = hook_;
    if (hook_ == CapabilityAction::activate) machine_.on_activate_result(world.now(), ok, error, permanent);
    else machine_.on_deactivate_result(world.now(), ok, error);
    hook_ = CapabilityAction::none;
}

void Capability::on_timer(World& world) {
    if (hook_pid_ && hook_deadline_ && world.now() >= *hook_deadline_) {
        world.signal_group(*hook_pid_, SIGKILL);  // its exit will report the failure
        hook_deadline_.reset();
    }
    act(world);
}

void Capability::on_check_result(World& world, bool ok, const std::string& detail) {
    if (halted_) return;
    check_error_ = ok ? std::string() : "check failed: " + detail;
    machine_.on_availability(world.now(), ok && met_, check_error_);
    act(world);
}

bool Capability::on_exit(World& world, int pid, const ExitStatus& status) {
    if (hook_pid_ != pid) return false;
    world.signal_group(pid, SIGKILL);
    hook_pid_.reset();
    const bool timed_out = !hook_deadline_.has_value() && !status.success();
    hook_deadline_.reset();
    const auto& codes = spec_.permanent_exit_codes;
    const bool permanent = !timed_out && status.code && std::find(codes.begin(), codes.end(), *status.code) != codes.end();
    std::string what = timed_out ? "timed out after " + config::format_duration(spec_.hook_retry.timeout) : status.describe();
    if (permanent) what += " (a permanent exit code)";
    if (permanent && hook_ == CapabilityAction::activate) what += ": not tried again until mainstay resume " + spec_.name;
    if (!halted_) {
        hook_done(world, status.success(), what, permanent);
        act(world);
    } else if (deactivate_after_kill_) {
        deactivate_after_kill_ = false;
        run_last_deactivate(world);
    } else if (hook_ == CapabilityAction::deactivate && !status.success()) {
        world.log(config::LogLevel::warn, "capability " + spec_.name + ": deactivate at shutdown: " + what);
    }
    return true;
}

std::string Capability::resume_by_hand(World& world) {
    if (!machine_.held()) {
        return "capability " + spec_.name + " is " + std::string(resilience::to_string(machine_.state())) + ": nothing to resume";
    }
    world.log(config::LogLevel::info, "capability " + spec_.name + ": resume requested");
    machine_.release(world.now());
    act(world);
    return {};
}

void Capability::startup_ended(World& world) {
    if (!started_ || halted_ || startup_ended_) return;
    startup_ended_ = true;
    if (machine_.state() != CapabilityState::degraded) return;
    world.log(config::LogLevel::info, "capability " + spec_.name + ": degraded at the end of the startup phase: deactivate runs once");
    machine_.clear_outside(world.now());
    if (!hook_pid_) act(world);  // else it comes after the running hook
}

void Capability::shut_down(World& world) {
    if (halted_) return;
    halted_ = true;
    world.cancel_probe(id_, ProbeKind::readiness);
    const bool was_up = machine_.state() != CapabilityState::degraded;
    machine_.halt(world.now(), "shutting down");
    if (was_up) {
        logged_ = CapabilityState::degraded;
        since_ = world.now();
        world.log(config::LogLevel::info, "capability " + spec_.name + ": degraded (shutting down)");
    }
    if (hook_pid_ && hook_ == CapabilityAction::activate) {
        // Its exit brings the last deactivate: the two never run at once.
        world.signal_group(*hook_pid_, SIGKILL);
        hook_deadline_.reset();
        deactivate_after_kill_ = true;
        return;
    }
    if (hook_pid_) return;  // a deactivate already runs, with its timeout
    if (was_up) run_last_deactivate(world);
}

void Capability::run_last_deactivate(World& world) {
    hook_ = CapabilityAction::deactivate;
    if (!spec_.deactivate) return;
    StartResult started = world.start_command(spec_.name + "/deactivate", *spec_.deactivate);
    if (!started.pid) {
        world.log(config::LogLevel::warn, "capability " + spec_.name + ": deactivate at shutdown: " + started.error);
        return;
    }
    hook_pid_ = started.pid;
    hook_deadline_ = resilience::add_saturating(world.now(), spec_.hook_retry.timeout);
}

void Capability::kill(World& world) {
    halted_ = true;
    deactivate_after_kill_ = false;
    world.cancel_probe(id_, ProbeKind::readiness);
    if (hook_pid_) world.signal_group(*hook_pid_, SIGKILL);  // its deadline stays: the exit is no timeout
}

std::optional<TimePoint> Capability::next_deadline() const {
    if (hook_pid_) return hook_deadline_;
    if (halted_) return std::nullopt;
    return machine_.next_deadline();
}

}  // namespace mainstay::supervisor
