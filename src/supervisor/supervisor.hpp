// The set of services: start order by dependencies, event dispatch, and ordered shutdown.
//
// Events come in from the runtime (a process exited, a timer fired, SIGTERM); the Supervisor
// hands each to the service it concerns, then lets the consequences spread. Services and
// capabilities are known by a stable Id (the World's timers and probes use it) and by name;
// positions in the configuration are only an internal order that a reload may change.
//
// Propagation by a queue (dinit's model): a service whose state changed enqueues its
// dependents, and one drain looks at each queued service once: a waiting one whose
// dependencies are now met starts, one whose required dependency went down is blocked (and
// enqueues its own dependents in turn). The mode is kept from counters updated per touched
// service, so an event costs the edges it touches, not a scan of every service. After every
// event each touched service's one timer is re-armed to its next deadline (deadlines already
// due are acted on at once, so a restart with no backoff does not wait for the loop).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/diff.hpp"
#include "config/graph.hpp"
#include "config/schema.hpp"
#include "resilience/events.hpp"
#include "resilience/random.hpp"
#include "supervisor/capability.hpp"
#include "supervisor/mode_line.hpp"
#include "supervisor/observer.hpp"
#include "supervisor/retirement.hpp"
#include "supervisor/service.hpp"
#include "supervisor/world.hpp"

namespace mainstay::supervisor {

// What an operator can ask of one service (`mainstay start|stop|restart|resume NAME`).
enum class Control { start, stop, restart, resume };

class Supervisor {
public:
    // `world` carries out its decisions; `observer` hears what it reports.
    Supervisor(const config::Config& config, World& world, Observer& observer, std::uint64_t seed,
               resilience::EventSink* events = nullptr);

    // Starts every enabled service whose dependencies are met; the others wait for them.
    void start();
    // Returns false when the pid is not a service's process (an orphan).
    bool on_exit(int pid, const ExitStatus& status);
    // A probe attempt of service or capability `id` ended.
    void on_probe_result(Id id, ProbeKind kind, resilience::ProbeStatus status, const std::string& detail);
    // Timer `id`: a service's or a capability's, or kShutdownTimer, kStartupTimer, kModeTimer.
    void on_timer(Id id);
    // SIGTERM/SIGINT: stop everything, dependents before their dependencies, within shutdown.timeout.
    void shutdown();
    bool resume(std::string_view name);
    // `mainstay start|stop|restart|resume NAME`: empty when done, else why not ("no service
    // named x", "mainstay is shutting down", "web is running: nothing to resume").
    // Process `pid` pushed something about its service (`ready:`: its ready line, its fd, a
    // notify datagram); ignored when `pid` is no longer its service's process.
    void on_notice(int pid, const Notice& notice);
    std::string control(Control what, std::string_view name);
    // `mainstay upgrade NAME` / `mainstay downgrade NAME [--to TIER]` (Capability::upgrade,
    // downgrade): empty when done, else why not.
    std::string upgrade(std::string_view capability);
    std::string downgrade(std::string_view capability, const std::optional<std::string>& to);
    // `--all`: the enabled services `what` applies to, in configuration order: start those
    // stopped by hand, failed, paused or recovering (not a completed oneshot: `start NAME` runs
    // one again); stop every one not stopped yet; restart every one; resume the paused and
    // recovering.
    std::vector<std::string> all_for(Control what) const;
    // `mainstay signal SIG NAME`: `sig` to the process group of NAME's process; empty when
    // sent, else why not ("web is not running").
    std::string signal(std::string_view name, int sig);
    // `mainstay signal SIG --all`: the services that have a process.
    std::vector<std::string> running_services() const;
    // A reload (SIGHUP, `mainstay reload`): `next` is the configuration read again, `diff` what
    // changed. Removed and changed services stop (dependents first, with their stop signal and
    // timeout); a changed one starts again under its new definition once its old process is
    // gone; added ones start when their dependencies are met; every other service is left as it
    // is (same process). Capabilities likewise (a FULL one runs deactivate before it goes).
    // Empty when applied, else why not.
    std::string apply(const config::Config& next, const config::ConfigDiff& diff);
    // Services and capabilities of the previous definition still stopping.
    std::size_t retiring() const { return retirement_.size(); }
    // SIGKILL to every service's process group and stop command (a second SIGTERM).
    void kill_all();
    // A signal mainstay received: SIGTERM, SIGINT and SIGQUIT shut down (a second one kills
    // everything at once); SIGUSR1, SIGUSR2 and SIGWINCH go to every running service's group;
    // SIGHUP asks for a reload.
    void on_signal(int sig);
    // The signals on_signal handles: the runtime catches exactly these (as PID 1, a signal with
    // no handler is dropped by the kernel).
    static const std::vector<int>& handled_signals();

    // The whole: `starting` until every enabled service is ready, completed or has had its chance
    // (or startup.timeout), then `full`, `degraded` or `critical`; `stopping` at shutdown.
    Mode mode() const { return mode_; }
    bool startup_done() const { return startup_duration_.has_value(); }
    TimePoint mode_since() const { return mode_since_; }
    std::optional<Duration> startup_duration() const { return startup_duration_; }
    bool shutting_down() const { return phase_ >= Phase::stopping; }
    // 1 once a critical failure ended the run (`on_critical_failure: exit`), else 0.
    int exit_code() const { return exit_code_; }
    bool shutdown_done() const { return phase_ == Phase::stopped; }
    // In configuration order.
    const std::vector<std::unique_ptr<Service>>& services() const { return services_; }
    const std::vector<std::unique_ptr<Capability>>& capabilities() const { return capabilities_; }
    const Service* find(std::string_view name) const;
    // The id of service or capability `name` (0 when there is none).
    Id id_of(std::string_view name) const;
    // The name of service or capability `id`, for messages; nullptr when there is none.
    const std::string* name_of(Id id) const;
    // The service `id`, if it is one (an exec probe runs with its environment).
    const Service* service(Id id) const;
    // Enabled services, and those of them ready or completed (kept as events come).
    std::size_t enabled_count() const { return enabled_; }
    std::size_t available_count() const { return enabled_ - unavailable_; }
    // Why `c`'s requirements are not met ("ollama is recovering: killed by SIGKILL"); empty when they are.
    // Why services `names` are not all available ("ollama is recovering: ..."); empty when they are.
    std::string unmet_requirement(const std::vector<std::string>& names) const;
    // The mode line is printed at once when the mode changes; when only its reasons change,
    // at most once per this interval.
    static constexpr Duration kModeLineInterval = ModeLine::kInterval;

private:
    // What the counters hold of one service, to take it out again when it changes.
    struct Counted {
        bool enabled{false};
        bool unavailable{false};
        bool unsettled{false};
        bool critical_failed{false};
        State state{State::waiting};
        std::string reason;
    };

    // Builds the graph and the per-position tables from services_ (at start and after a reload).
    void index_services();
    Service* service_at(Id id) const;
    Capability* capability_at(Id id) const;
    // After any event of service `i`: due deadlines acted on, its timer armed, its pids indexed,
    // the counters updated; a change of state enqueues its dependents.
    void settle(std::size_t i);
    void count(std::size_t i);
    void track(Service& s);
    // After an event of service `i`: when it became available, the recovery of every dependent
    // waiting on its backoff is due now; then the consequences spread.
    void after_event(std::size_t i, bool was_available);
    void enqueue(std::size_t i);
    void enqueue_dependents(std::size_t i);
    void drain();
    void update_mode();
    // "mode: degraded: docker recovering (...); capabilities: local-llm degraded (...)".
    std::string mode_summary() const;
    // The mode line (mode_line.hpp): logged when the mode changed, or (rate-limited) when its reasons did.
    void report_mode();
    // The startup phase ended: DEGRADED capabilities clear what their hooks may have left set.
    void end_startup_phase();
    // At shutdown: a capability's last deactivate still runs; no service stops meanwhile.
    bool capabilities_winding_down() const;
    Capability::Unmet unmet() const;
    // Runs `what` on capability `name`, then settles it and what follows from it.
    std::string on_capability(std::string_view name, const std::function<std::string(Capability&)>& what);
    void settle_capability(Capability& c);
    void propagate();
    // False with `why` when a dependency is not there yet; `blocked` when a required one is down.
    // A `restart: true` dependency of service `i` that started again since `i` did and meets
    // its condition now: `i` restarts (once per restart of it). nullptr when none.
    const config::Edge* restart_due(std::size_t i) const;
    bool dependencies_met(std::size_t i, std::string& why, bool& blocked) const;
    void advance_shutdown();
    // An event of a retiring service: once its process is gone it goes for good, and its
    // successor (a changed definition) may start.
    void after_retiring_event(Service& s);
    // The reload's next wave of leaving services told to stop; once the last has stopped they
    // go for good, and new definitions that waited for them may start.
    void advance_retiring();
    // Leaving capabilities whose winding down is over go; a new definition that waited starts.
    void retire_capabilities_done();

    config::MainConfig main_;
    World& world_;
    Observer& observer_;
    resilience::SeededRandom random_;
    resilience::EventSink* events_;
    Id next_id_{kFirstId};
    std::vector<std::unique_ptr<Service>> services_;
    std::vector<std::unique_ptr<Capability>> capabilities_;
    std::unordered_map<Id, Service*> service_ids_;
    std::unordered_map<Id, Capability*> capability_ids_;
    std::unordered_map<int, Service*> pids_;  // service processes and their stop or wake commands
    // A reload's removed and changed services and capabilities, until they are gone.
    Retirement retirement_;

    // By position in services_ (rebuilt by index_services()).
    std::unique_ptr<config::DependencyGraph> graph_;
    std::unordered_map<std::string, std::size_t> position_;
    std::vector<std::vector<const config::Edge*>> dependencies_;
    std::vector<std::vector<const config::Edge*>> dependents_;
    std::vector<Counted> counted_;
    std::vector<char> queued_;
    std::vector<std::size_t> queue_;

    std::size_t enabled_{0};
    std::size_t unavailable_{0};
    std::size_t unsettled_{0};
    std::size_t critical_failed_{0};

    // Where the whole is: made, starting (until every service settled or startup.timeout),
    // up, stopping (shutdown begun: no more starts), stopped. Only ever forward.
    enum class Phase { created, starting, up, stopping, stopped };
    Phase phase_{Phase::created};
    std::vector<std::vector<std::size_t>> stop_waves_;
    std::size_t stop_wave_{0};
    std::size_t issued_wave_{static_cast<std::size_t>(-1)};  // the wave last told to stop
    bool issued_forced_{false};                              // ... and whether with SIGKILL
    bool deadline_passed_{false};
    int exit_code_{0};
    Mode mode_{Mode::starting};
    TimePoint started_at_{};
    TimePoint mode_since_{};
    ModeLine mode_line_;
    std::optional<Duration> startup_duration_;  // set when the startup phase ended (startup_done)
};

}  // namespace mainstay::supervisor
