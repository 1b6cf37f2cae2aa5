// CapabilityUpgrade: hot-swaps a capability up to FULL when its requirements allow, and back.
//
// DEGRADED -> UPGRADING -> FULL (monitored) -> DEGRADED on regression. The machine never runs
// anything: take_action(now) tells the runtime what to run now (check availability, run
// `activate`, run `deactivate`, or nothing) and marks it running; next_deadline() says when to
// ask again. The runtime reports back: on_availability(now, ok) after a check (the supervisor
// may also call it unasked, e.g. when a required service stops being ready),
// on_activate_result and on_deactivate_result after the hooks. An available capability is
// activated; a successful activation makes it FULL and it is re-checked every
// `monitor_interval`; a regression makes it DEGRADED and runs `deactivate`. A failed activation
// returns to DEGRADED and checks again after a backoff delay (reset on reaching FULL); an
// unavailable one is checked again after `monitor_interval`. Every change of state emits one
// capability_transition event; a failed hook emits capability_hook_failed.
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
    // The action to run now (marked running until its result is reported), or none.
    CapabilityAction take_action(TimePoint now);
    void on_availability(TimePoint now, bool available, std::string detail = {});
    void on_activate_result(TimePoint now, bool ok, std::string error = {});
    void on_deactivate_result(TimePoint now, bool ok, std::string error = {});
    // A requirement changed: a pending availability check becomes due at once.
    void conditions_changed(TimePoint now);

    CapabilityState state() const { return state_; }
    // When take_action() will next return something; none while an action runs or before start.
    std::optional<TimePoint> next_deadline() const;
    CapabilityAction running() const { return running_; }
    CapabilityAction pending() const { return pending_; }
    std::uint32_t activation_failures() const { return activation_failures_; }
    const std::string& last_error() const { return last_error_; }
    const CapabilityParams& params() const { return params_; }
    const std::string& owner() const { return source_.owner; }

private:
    void transition(CapabilityState to, TimePoint now, std::string_view detail = {});
    void schedule(CapabilityAction action, TimePoint at);

    CapabilityParams params_;
    Backoff backoff_;
    EventSource source_;
    CapabilityState state_{CapabilityState::degraded};
    CapabilityAction pending_{CapabilityAction::none};
    CapabilityAction running_{CapabilityAction::none};
    TimePoint due_at_{};
    bool started_{false};
    std::uint32_t activation_failures_{0};
    std::string last_error_;
};

}  // namespace mainstay::resilience
