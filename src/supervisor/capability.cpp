#include "supervisor/capability.hpp"

#include <csignal>

#include "config/values.hpp"

namespace mainstay::supervisor {

using resilience::CapabilityAction;
using resilience::CapabilityState;

Capability::Capability(const config::CapabilitySpec& spec, std::size_t slot, resilience::Random& random,
                       resilience::EventSink* events)
    : spec_(spec),
      slot_(slot),
      machine_({spec.monitor_interval, spec.hook_retry.backoff}, random, {events, spec.name, "capability"}) {}

void Capability::start(World& world, bool requirements_met) {
    met_ = requirements_met;
    started_ = true;
    since_ = world.now();
    machine_.start(world.now());
    act(world);
}

void Capability::requirements_changed(World& world, bool met) {
    if (!started_ || halted_ || met == met_) return;
    met_ = met;
    if (!met) {
        machine_.report_availability(world.now(), false, "a required service is not ready");
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
                world.start_probe(slot_, ProbeKind::readiness, *spec_.check);
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
        logged_ = machine_.state();
        since_ = world.now();
        world.log(logged_ == CapabilityState::degraded && machine_.activation_failures() > 0 ? config::LogLevel::warn
                                                                                              : config::LogLevel::info,
                  "capability " + spec_.name + ": " + std::string(to_string(logged_)) +
                      (machine_.last_error().empty() || logged_ == CapabilityState::full ? "" : " (" + machine_.last_error() + ")"));
    }
}

void Capability::hook_done(World& world, bool ok, const std::string& error) {
    if (hook_ == CapabilityAction::activate) machine_.on_activate_result(world.now(), ok, error);
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
    machine_.on_availability(world.now(), ok && met_, ok ? "" : "check failed: " + detail);
    act(world);
}

bool Capability::on_exit(World& world, int pid, const ExitStatus& status) {
    if (hook_pid_ != pid) return false;
    world.signal_group(pid, SIGKILL);
    hook_pid_.reset();
    const bool timed_out = !hook_deadline_.has_value() && !status.success();
    hook_deadline_.reset();
    if (!halted_) {
        hook_done(world, status.success(),
                  timed_out ? "timed out after " + config::format_duration(spec_.hook_retry.timeout) : status.describe());
        act(world);
    }
    return true;
}

void Capability::halt(World& world) {
    halted_ = true;
    if (hook_pid_) world.signal_group(*hook_pid_, SIGKILL);
    world.cancel_probe(slot_, ProbeKind::readiness);
}

std::optional<TimePoint> Capability::next_deadline() const {
    if (halted_) return std::nullopt;
    if (hook_pid_) return hook_deadline_;
    return machine_.next_deadline();
}

}  // namespace mainstay::supervisor
