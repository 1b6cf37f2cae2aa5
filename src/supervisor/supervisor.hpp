// The set of services: start order by dependencies, event dispatch, and ordered shutdown.
//
// Events come in from the runtime (a process exited, a timer fired, SIGTERM); the Supervisor
// hands each to the service it concerns, then lets the consequences spread: services whose
// dependencies are now met start, the shutdown moves on to the next wave. After every event
// each touched service's one timer is re-armed to its next deadline (deadlines already due
// are acted on at once, so a restart with no backoff does not wait for the loop).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "config/graph.hpp"
#include "config/schema.hpp"
#include "resilience/events.hpp"
#include "resilience/random.hpp"
#include "supervisor/capability.hpp"
#include "supervisor/service.hpp"
#include "supervisor/world.hpp"

namespace mainstay::supervisor {

// What an operator can ask of one service (`mainstay start|stop|restart|resume NAME`).
enum class Control { start, stop, restart, resume };

class Supervisor {
public:
    Supervisor(const config::Config& config, World& world, std::uint64_t seed, resilience::EventSink* events = nullptr);

    // Starts every enabled service whose dependencies are met; the others wait for them.
    void start();
    // Returns false when the pid is not a service's process (an orphan).
    bool on_exit(int pid, const ExitStatus& status);
    // A probe attempt of service `index` ended.
    void on_probe_result(std::size_t index, ProbeKind kind, resilience::ProbeStatus status, const std::string& detail);
    // Timer `index`: a service's, or shutdown_timer_index() for the whole shutdown.
    void on_timer(std::size_t index);
    // SIGTERM/SIGINT: stop everything, dependents before their dependencies, within shutdown.timeout.
    void shutdown();
    bool resume(std::string_view name);
    // `mainstay start|stop|restart|resume NAME`: empty when done, else why not ("no service
    // named x", "mainstay is shutting down", "web is running: nothing to resume").
    std::string control(Control what, std::string_view name);
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
    bool startup_done() const { return startup_done_; }
    TimePoint mode_since() const { return mode_since_; }
    std::optional<Duration> startup_duration() const { return startup_duration_; }
    std::size_t startup_timer_index() const { return services_.size() + 1; }
    bool shutting_down() const { return shutting_down_; }
    // 1 once a critical failure ended the run (`on_critical_failure: exit`), else 0.
    int exit_code() const { return exit_code_; }
    bool shutdown_done() const { return shutdown_done_; }
    std::size_t shutdown_timer_index() const { return services_.size(); }
    const std::vector<std::unique_ptr<Service>>& services() const { return services_; }
    const std::vector<std::unique_ptr<Capability>>& capabilities() const { return capabilities_; }
    // Timers and probes of capability `c` use this index.
    std::size_t capability_index(std::size_t c) const { return services_.size() + 2 + c; }
    // The timer of a postponed mode line (after the capabilities').
    std::size_t mode_timer_index() const { return capability_index(capabilities_.size()); }
    // The mode line is printed at once when the mode changes; when only its reasons change,
    // at most once per this interval.
    static constexpr Duration kModeLineInterval{std::chrono::seconds(5)};
    const Service* find(std::string_view name) const;
    // Why `c`'s requirements are not met ("ollama is recovering: killed by SIGKILL"); empty when
    // they are. Public for the status model, which says why a capability is degraded.
    std::string unmet_requirement(const Capability& c) const;

private:
    void settle(std::size_t index);
    // After an event of service `index`: when it became available, the recovery of every
    // dependent waiting on its backoff is due now.
    void after_event(std::size_t index, bool was_available);
    void update_mode();
    // "mode: degraded: docker recovering (...); capabilities: local-llm degraded (...)".
    std::string mode_summary() const;
    // Logs the mode line when the mode changed, or (rate-limited) when its reasons changed.
    void report_mode();
    // startup_done_ became true: DEGRADED capabilities clear what their hooks may have left set.
    void end_startup_phase();
    // At shutdown: a capability's last deactivate still runs; no service stops meanwhile.
    bool capabilities_winding_down() const;
    bool requirements_met(const Capability& c) const;
    void settle_capability(std::size_t c);
    // The capability whose index this is, if it is one.
    std::optional<std::size_t> capability_at(std::size_t index) const;
    void propagate();
    void start_ready_services();
    // False with `why` when a dependency is not there yet; `blocked` when a required one is down.
    bool dependencies_met(std::size_t index, std::string& why, bool& blocked) const;
    void advance_shutdown();

    const config::Config& config_;
    World& world_;
    resilience::SeededRandom random_;
    config::DependencyGraph graph_;
    std::vector<std::unique_ptr<Service>> services_;
    std::vector<std::unique_ptr<Capability>> capabilities_;
    bool started_{false};
    bool shutting_down_{false};
    bool shutdown_done_{false};
    std::vector<std::vector<std::size_t>> stop_waves_;
    std::size_t stop_wave_{0};
    bool deadline_passed_{false};
    int exit_code_{0};
    Mode mode_{Mode::starting};
    bool startup_done_{false};
    TimePoint started_at_{};
    TimePoint mode_since_{};
    Mode printed_mode_{Mode::starting};
    std::string mode_line_;
    TimePoint mode_printed_at_{};
    bool mode_timer_armed_{false};
    std::optional<Duration> startup_duration_;
};

}  // namespace mainstay::supervisor
