// One capability at run time: the CapabilityUpgrade machine driven by the World.
//
// Its requirements (every service in `requires` available) are told by the Supervisor; its
// `check`, when there is one, runs as a probe; `activate` and `deactivate` run as commands with
// the hook timeout of `retry.timeout`. The machine decides when to do what; this class does it.
//
// At shutdown (SPEC §4) a FULL or UPGRADING capability runs `deactivate` one last time (a
// running `activate` is killed first, and `deactivate` runs once it is gone); the Supervisor
// stops no service while that hook runs. A DEGRADED one runs nothing more.
#pragma once

#include <optional>
#include <string>

#include "config/schema.hpp"
#include "resilience/capability.hpp"
#include "resilience/events.hpp"
#include "resilience/random.hpp"
#include "supervisor/world.hpp"

namespace mainstay::supervisor {

class Capability {
public:
    // Keeps its own copy of `spec`.
    Capability(const config::CapabilitySpec& spec, Id id, resilience::Random& random,
               resilience::EventSink* events);

    void start(World& world, bool requirements_met);
    // `unmet`: why a required service is not available (empty: every one is).
    void requirements_changed(World& world, const std::string& unmet);
    void on_timer(World& world);
    void on_check_result(World& world, bool ok, const std::string& detail);
    // Returns false when `pid` is not its hook.
    bool on_exit(World& world, int pid, const ExitStatus& status);
    // The startup phase ended: a DEGRADED capability runs `deactivate` once.
    void startup_ended(World& world);
    // Shutdown: the last `deactivate` when it is or was on its way to FULL; nothing else runs.
    void shut_down(World& world);
    // `mainstay resume NAME`: held after `activate` exited with a permanent exit code, it is
    // checked again now. Empty when done, else why not.
    std::string resume_by_hand(World& world);
    // Held after a permanent `activate` failure, until resume_by_hand.
    bool held() const { return machine_.held(); }
    // A second stop signal or shutdown.timeout: SIGKILL to a running hook, nothing more runs.
    void kill(World& world);
    // After shut_down: a hook still runs (or is still to run); services wait for it.
    bool winding_down() const { return halted_ && (hook_pid_.has_value() || deactivate_after_kill_); }

    std::optional<TimePoint> next_deadline() const;
    const config::CapabilitySpec& spec() const { return spec_; }
    Id id() const { return id_; }
    resilience::CapabilityState state() const { return machine_.state(); }
    std::optional<int> hook_pid() const { return hook_pid_; }
    TimePoint since() const { return since_; }
    // Why it is not FULL: a failed hook's error, or the required service that is not there
    // (empty when FULL or when there is nothing to say).
    std::string reason() const;
    // Why it is not FULL for a reason of its own (its requirements aside): the last failed hook
    // ("activate: exited with code 3"), else the last failed check; empty when neither failed.
    std::string own_reason() const;

private:
    // " (why)" for the state line: a failed hook's error, or the requirement that is not met.
    std::string why_line() const;
    std::string unmet_;  // why the requirements are not met (empty: they are)
    std::string check_error_;  // the last check's failure ("check failed: ..."), empty after a pass
    resilience::CapabilityAction failed_hook_{resilience::CapabilityAction::none};  // the hook of the last failure
    void act(World& world);  // runs whatever the machine says is due now
    void hook_done(World& world, bool ok, const std::string& error, bool permanent = false);
    // Shutdown's last `deactivate`.
    void run_last_deactivate(World& world);

    const config::CapabilitySpec spec_;  // first: the machine below is built from it
    Id id_;
    resilience::CapabilityUpgrade machine_;
    bool met_{false};
    bool halted_{false};
    bool started_{false};
    bool startup_ended_{false};
    bool deactivate_after_kill_{false};  // shutdown killed `activate`: `deactivate` once it is gone
    std::optional<int> hook_pid_;
    std::optional<TimePoint> hook_deadline_;
    resilience::CapabilityAction hook_{resilience::CapabilityAction::none};
    resilience::CapabilityState logged_{resilience::CapabilityState::degraded};
    TimePoint since_{};
};

}  // namespace mainstay::supervisor
