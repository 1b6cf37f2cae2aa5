// One capability at run time: a chain of tiers (SPEC §3), best first, each driven by its own
// CapabilityUpgrade machine. The plain form is a chain of one tier.
//
// A tier's machine is told its tier is available when the tier's `requires` are all ready, its
// `check` (a probe) passes, and no better tier is up or on its way up (nor held off by
// `mainstay downgrade`). So the active tier is the best available one, and a move is ordered:
// up, the better tier's `activate` succeeds before the worse one is told to go (its
// `deactivate`); down, the better one's `deactivate` ends before the worse one is checked and
// activated. One check or hook runs at a time for the whole capability; a tier whose
// `activate` fails is skipped until its next check (its machine's backoff). The machines decide
// when to do what; this class does it.
//
// The capability is `full` on its best tier, `upgrading` while an `activate` runs, `degraded`
// otherwise (a lower tier, or none).
//
// At shutdown (SPEC §4) each tier that is up runs `deactivate` one last time (a running
// `activate` is killed first, and `deactivate` runs once it is gone); the Supervisor stops no
// service while those hooks run.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/schema.hpp"
#include "resilience/capability.hpp"
#include "resilience/events.hpp"
#include "resilience/random.hpp"
#include "supervisor/observer.hpp"
#include "supervisor/world.hpp"

namespace mainstay::supervisor {

class Capability {
public:
    // Why services `names` are not all ready (empty: they are).
    using Unmet = std::function<std::string(const std::vector<std::string>& names)>;

    // Keeps its own copy of `spec`.
    Capability(const config::CapabilitySpec& spec, Id id, Observer& observer, resilience::Random& random,
               resilience::EventSink* events);

    void start(World& world, const Unmet& unmet);
    void requirements_changed(World& world, const Unmet& unmet);
    void on_timer(World& world);
    void on_check_result(World& world, bool ok, const std::string& detail);
    // Returns false when `pid` is not its hook.
    bool on_exit(World& world, int pid, const ExitStatus& status);
    // The startup phase ended: each DEGRADED tier runs `deactivate` once.
    void startup_ended(World& world);
    // Shutdown: the last `deactivate` of each tier that is or was on its way up; nothing else runs.
    void shut_down(World& world);
    // `mainstay resume NAME`: a tier held after `activate` exited with a permanent exit code is
    // checked again now. Empty when done, else why not.
    std::string resume_by_hand(World& world);
    // `mainstay upgrade NAME`: ends a hold (by hand or permanent) and checks every tier now.
    std::string upgrade(World& world);
    // `mainstay downgrade NAME [--to TIER]`: moves to TIER (default: the next lower one than the
    // active tier; the plain form: none) and holds it there until `upgrade`. Empty when done.
    std::string downgrade(World& world, const std::optional<std::string>& to);
    // Held: after a permanent `activate` failure (until resume), or by `downgrade` (until upgrade).
    bool held() const;
    // The tier `downgrade` holds it at ("" for none below the last), when held so.
    std::optional<std::string> held_at() const;
    // A second stop signal or shutdown.timeout: SIGKILL to a running hook, nothing more runs.
    void kill(World& world);
    // After shut_down: a hook still runs (or is still to run); services wait for it.
    bool winding_down() const;

    std::optional<TimePoint> next_deadline() const;
    const config::CapabilitySpec& spec() const { return spec_; }
    Id id() const { return id_; }
    resilience::CapabilityState state() const;
    // The active tier's name (the plain form's is config::kPlainTier), none when on no tier.
    std::optional<std::string> tier() const;
    // Every tier's name, best first.
    std::vector<std::string> tiers() const;
    bool tiered() const { return !spec_.tiers.empty(); }
    std::optional<int> hook_pid() const { return hook_pid_; }
    TimePoint since() const { return since_; }
    // Why it is not FULL: a failed hook's error, or the required service that is not there
    // (empty when FULL or when there is nothing to say). With tiers: the tier it is on, and why
    // the best one is not active.
    std::string reason() const;
    // Why it is not FULL for a reason of its own (its requirements aside): the last failed hook
    // ("activate: exited with code 3"), else the last failed check; empty when neither failed.
    std::string own_reason() const;
    // Each tier better than the active one, with why it is not active.
    std::vector<std::pair<std::string, std::string>> better_tiers() const;

private:
    struct Lane {
        Lane(const config::TierSpec& t, const config::CapabilitySpec& spec, resilience::Random& random,
             resilience::EventSink* events)
            : tier(t),
              machine({spec.monitor_interval, spec.hook_retry.backoff}, random, {events, spec.name, "capability"}) {}
        config::TierSpec tier;
        resilience::CapabilityUpgrade machine;
        bool met{false};
        std::string unmet;        // why its requirements are not met (empty: they are)
        std::string check_error;  // the last check's failure ("check failed: ..."), empty after a pass
        resilience::CapabilityAction failed_hook{resilience::CapabilityAction::none};
        bool blocked{false};  // as last told to its machine
        bool up() const { return machine.state() != resilience::CapabilityState::degraded; }
    };

    // Whether a better tier is up (or a hold keeps this one off), and why.
    std::optional<std::string> blocked_by(std::size_t i) const;
    // Tells each machine what changed in the tiers above it.
    void gate(World& world);
    void act(World& world);  // runs whatever the machines say is due now, one at a time
    // One step of act(): false when nothing was due.
    bool step(World& world);
    void hook_done(World& world, bool ok, const std::string& error, bool permanent = false);
    void report(World& world);  // the state line and the event, when the state or tier moved
    // Shutdown's last `deactivate`s, one after the other.
    void run_last_deactivates(World& world);
    std::string why_not(std::size_t i) const;
    std::string label(std::size_t i, resilience::CapabilityAction action) const;
    std::optional<std::size_t> active() const;

    const config::CapabilitySpec spec_;  // first: the lanes below are built from it
    Id id_;
    Observer& observer_;  // its log lines and transitions
    std::deque<Lane> lanes_;
    std::optional<std::size_t> hold_;  // `downgrade`: tiers better than this are kept off
    bool halted_{false};
    bool started_{false};
    bool startup_ended_{false};
    std::optional<std::size_t> deactivate_after_kill_;  // shutdown killed its `activate`
    std::vector<std::size_t> last_deactivates_;         // shutdown's, still to run
    std::optional<int> hook_pid_;
    std::optional<TimePoint> hook_deadline_;
    std::optional<std::size_t> hook_lane_;
    std::optional<std::size_t> check_lane_;
    resilience::CapabilityAction hook_{resilience::CapabilityAction::none};
    resilience::CapabilityState logged_{resilience::CapabilityState::degraded};
    std::optional<std::size_t> logged_tier_;
    TimePoint since_{};
};

}  // namespace mainstay::supervisor
