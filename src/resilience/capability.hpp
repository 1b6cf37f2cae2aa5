// CapabilityUpgrade: hot-swaps a capability up to FULL when its requirements allow, and back.
//
// DEGRADED -> UPGRADING -> FULL (monitored) -> DEGRADED on regression. The machine never runs
// anything: take_action(now) tells the runtime what to run now (check availability, run
// `activate`, run `deactivate`, or nothing) and marks it running; next_deadline() says when to
// ask again. The runtime reports back: on_availability(now, ok) after a check,
// on_activate_result and on_deactivate_result after the hooks; the supervisor reports what it
// learns unasked (e.g. a required service stopped being ready) with report_availability. An
// available capability is activated; a successful activation makes it FULL and it is
// re-checked every `monitor_interval`; a regression makes it DEGRADED and runs `deactivate`. A
// failed activation returns to DEGRADED and checks again after a backoff delay (reset on
// reaching FULL); an unavailable one is checked again after `monitor_interval`. Every change
// of state emits one capability_transition event; a failed hook emits capability_hook_failed.
//
// A pending or running hook is never dropped: `deactivate` always runs after a FULL->DEGRADED
// regression before any new `activate`. A report arriving while a hook is pending or running
// is remembered instead: if it contradicts where the hook leads (unavailable during activate,
// available during deactivate), the check after the hook is due at once rather than after
// `monitor_interval`. An unasked report never completes a running check.
//
// The outside world agrees with the state (SPEC §4): clear_outside() at the end of the startup
// phase has a DEGRADED capability run `deactivate` once (after a running check, unless that
// check upgrades it), clearing what a crashed earlier run may have left set; the pending check
// keeps its time. halt() at shutdown ends the machine: DEGRADED, nothing more due.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "resilience/backoff.hpp"
#include "resilience/clock.hpp"
#include "resilience/events.hpp"
#include "resilience/params.hpp"
#include "resilience/random.hpp"

namespace mainstay::resilience {

enum class CapabilityState { degraded, upgrading, full };
std::string_view to_string(CapabilityState state);

enum class CapabilityAction { none, check_availability, activate, deactivate };
std::string_view to_string(CapabilityAction action);

class CapabilityUpgrade {
public:
    CapabilityUpgrade(CapabilityParams params, Random& random, EventSource source = {});

    // Begins watching: the first availability check is due now. No effect once started.
    void start(TimePoint now);
    // The action to run now (marked running until its result is reported), or none. One action
    // runs at a time.
    CapabilityAction take_action(TimePoint now);
    // The result of the running availability check. With no check running it is an unasked
    // report (as report_availability), which keeps older callers working; a caller that may
    // report unasked while a check runs must use report_availability for that.
    void on_availability(TimePoint now, bool available, std::string detail = {});
    // Unasked knowledge (not a check result): a regression while FULL degrades it and queues
    // `deactivate`, availability while DEGRADED queues `activate`; otherwise a pending check
    // keeps its time and a running check is still awaited. Remembered if a hook is queued.
    void report_availability(TimePoint now, bool available, std::string detail = {});
    // `permanent`: `activate` failed in a way retrying cannot fix (a permanent exit code): DEGRADED
    // and held there, neither checked nor activated again until release().
    void on_activate_result(TimePoint now, bool ok, std::string error = {}, bool permanent = false);
    // Ends a hold: the next check is due now (`mainstay resume`).
    void release(TimePoint now);
    bool held() const { return held_; }
    void on_deactivate_result(TimePoint now, bool ok, std::string error = {});
    // A requirement changed: a pending availability check becomes due at once.
    void conditions_changed(TimePoint now);
    // The end of the startup phase: a DEGRADED capability runs `deactivate` once (see above).
    void clear_outside(TimePoint now);
    // Shutdown: DEGRADED (the caller runs the last `deactivate`), nothing pending or running.
    void halt(TimePoint now, std::string_view detail);

    CapabilityState state() const { return state_; }
    // When take_action() will next return something; none while an action runs or before start.
    std::optional<TimePoint> next_deadline() const;
    CapabilityAction running() const { return running_; }
    CapabilityAction pending() const { return pending_; }
    std::uint32_t activation_failures() const { return activation_failures_; }
    const std::string& last_error() const { return last_error_; }
    const CapabilityParams& params() const { return params_; }
    const std::string& owner() const { return source_.owner; }
    const std::string& operation() const { return source_.operation; }

private:
    void transition(CapabilityState to, TimePoint now, std::string_view detail = {});
    void schedule(CapabilityAction action, TimePoint at);
    // activate or deactivate is pending or running.
    bool hook_queued() const;
    // Degrades FULL on `!available`, upgrades DEGRADED on `available`; false if neither.
    bool react(TimePoint now, bool available, std::string_view detail);
    // Queues the `deactivate` asked for by clear_outside() once nothing else runs.
    void clear_if_due(TimePoint now);

    CapabilityParams params_;
    Backoff backoff_;
    EventSource source_;
    CapabilityState state_{CapabilityState::degraded};
    CapabilityAction pending_{CapabilityAction::none};
    CapabilityAction running_{CapabilityAction::none};
    TimePoint due_at_{};
    bool started_{false};
    bool held_{false};
    std::optional<bool> unacted_;                 // the last availability reported while a hook was queued
    bool clear_due_{false};                       // clear_outside() asked for a `deactivate` not yet queued
    std::optional<TimePoint> check_after_clear_;  // when the check put off by that deactivate was due
    std::uint32_t activation_failures_{0};
    std::string last_error_;
};

}  // namespace mainstay::resilience
