#include "supervisor/supervisor.hpp"

#include <csignal>

#include "config/values.hpp"

namespace mainstay::supervisor {

Supervisor::Supervisor(const config::Config& config, World& world, std::uint64_t seed, resilience::EventSink* events)
    : config_(config), world_(world), random_(seed), graph_(config.services) {
    for (std::size_t i = 0; i < config.services.size(); ++i) {
        services_.push_back(std::make_unique<Service>(config.services[i], i, random_, events));
    }
    for (const auto& c : config.capabilities) {
        if (!c.enabled) continue;
        capabilities_.push_back(std::make_unique<Capability>(c, capability_index(capabilities_.size()), random_, events));
    }
}

std::string Supervisor::unmet_requirement(const Capability& c) const {
    for (const auto& name : c.spec().requires_services) {
        const Service* s = find(name);
        if (s == nullptr) return name + " is not defined";
        if (!s->available()) {
            return name + " is " + std::string(to_string(s->state())) + (s->reason().empty() ? "" : ": " + s->reason());
        }
    }
    return {};
}

bool Supervisor::requirements_met(const Capability& c) const { return unmet_requirement(c).empty(); }

void Supervisor::settle_capability(std::size_t c) {
    world_.set_timer(capability_index(c), capabilities_[c]->next_deadline());
}

std::optional<std::size_t> Supervisor::capability_at(std::size_t index) const {
    if (index < capability_index(0) || index >= capability_index(capabilities_.size())) return std::nullopt;
    return index - capability_index(0);
}

const Service* Supervisor::find(std::string_view name) const {
    auto i = graph_.index(name);
    return i ? services_[*i].get() : nullptr;
}

void Supervisor::start() {
    started_ = true;
    started_at_ = world_.now();
    mode_since_ = started_at_;
    world_.set_timer(startup_timer_index(), resilience::add_saturating(started_at_, config_.main.startup_timeout));
    propagate();
    for (std::size_t c = 0; c < capabilities_.size(); ++c) {
        capabilities_[c]->start(world_, requirements_met(*capabilities_[c]));
        settle_capability(c);
    }
    if (startup_done_) end_startup_phase();  // it ended at once: nothing could start
}

void Supervisor::end_startup_phase() {
    for (std::size_t c = 0; c < capabilities_.size(); ++c) {
        // Told first, so one whose requirements just came is on its way up, not cleared.
        capabilities_[c]->requirements_changed(world_, unmet_requirement(*capabilities_[c]));
        capabilities_[c]->startup_ended(world_);
        settle_capability(c);
    }
}

bool Supervisor::capabilities_winding_down() const {
    for (const auto& c : capabilities_) {
        if (c->winding_down()) return true;
    }
    return false;
}

void Supervisor::after_event(std::size_t index, bool was_available) {
    settle(index);
    if (!was_available && services_[index]->available()) {
        for (const config::Edge* e : graph_.dependents_of(index)) {
            services_[e->from]->wake(world_);
            settle(e->from);
        }
    }
    propagate();
}

std::string Supervisor::mode_summary() const {
    std::string line = "mode: " + std::string(to_string(mode_));
    std::string why;
    for (const auto& s : services_) {
        if (!s->spec().enabled || s->available()) continue;
        why += (why.empty() ? "" : "; ") + s->name() + " " + std::string(to_string(s->state())) +
               (s->reason().empty() ? "" : " (" + s->reason() + ")");
    }
    if (!why.empty()) line += ": " + why;
    for (std::size_t c = 0; c < capabilities_.size(); ++c) {
        const Capability& cap = *capabilities_[c];
        line += (c == 0 ? "; capabilities: " : ", ") + cap.spec().name + " " + std::string(resilience::to_string(cap.state()));
        if (const std::string r = cap.reason(); !r.empty()) line += " (" + r + ")";
    }
    return line;
}

void Supervisor::update_mode() {
    Mode next = Mode::stopping;
    if (!shutting_down_) {
        bool all_available = true, all_settled = true, critical = false;
        for (const auto& s : services_) {
            if (!s->spec().enabled) continue;
            if (s->available()) continue;
            all_available = false;
            all_settled = all_settled && (s->settled() || s->state() == State::blocked);
            critical = critical || (s->spec().critical && (s->state() == State::failed || s->state() == State::paused));
        }
        if (!startup_done_ && all_settled) {
            startup_done_ = true;
            world_.set_timer(startup_timer_index(), std::nullopt);
            startup_duration_ = std::chrono::duration_cast<Duration>(world_.now() - started_at_);
            world_.log(config::LogLevel::info, "startup finished in " + std::to_string(startup_duration_->count()) + " ms");
            end_startup_phase();
        }
        next = !startup_done_ ? Mode::starting : critical ? Mode::critical : all_available ? Mode::full : Mode::degraded;
    }
    if (next == mode_) return;
    const Mode was = mode_;
    mode_ = next;
    mode_since_ = world_.now();
    world_.record({Transition::Subject::mode, {}, std::string(to_string(was)), std::string(to_string(next)), {},
                   std::nullopt, std::nullopt});
    if (next == Mode::critical && config_.main.on_critical_failure == config::CriticalFailure::exit) {
        report_mode();
        world_.log(config::LogLevel::error, "on_critical_failure: exit: stopping everything");
        exit_code_ = 1;
        shutdown();
    }
}

void Supervisor::report_mode() {
    if (mode_ == Mode::starting || mode_ == Mode::stopping) return;
    const TimePoint now = world_.now();
    std::string line = mode_summary();
    const bool changed = mode_ != printed_mode_;
    if (!changed && line == mode_line_) {
        if (mode_timer_armed_) world_.set_timer(mode_timer_index(), std::nullopt);
        mode_timer_armed_ = false;
        return;
    }
    // The same mode with other reasons: at most one line per kModeLineInterval.
    const TimePoint due = resilience::add_saturating(mode_printed_at_, kModeLineInterval);
    if (!changed && now < due) {
        if (!mode_timer_armed_) world_.set_timer(mode_timer_index(), due);
        mode_timer_armed_ = true;
        return;
    }
    if (mode_timer_armed_) world_.set_timer(mode_timer_index(), std::nullopt);
    mode_timer_armed_ = false;
    const bool first = printed_mode_ == Mode::starting;
    printed_mode_ = mode_;
    mode_printed_at_ = now;
    mode_line_ = std::move(line);
    world_.log(mode_ == Mode::full ? config::LogLevel::info : config::LogLevel::warn, mode_line_);
    if (first) world_.notify_ready(mode_line_);
}

bool Supervisor::on_exit(int pid, const ExitStatus& status) {
    for (std::size_t c = 0; c < capabilities_.size(); ++c) {
        if (capabilities_[c]->on_exit(world_, pid, status)) {
            settle_capability(c);
            report_mode();
            if (shutting_down_) advance_shutdown();  // services may stop once the last hook ended
            return true;
        }
    }
    for (std::size_t i = 0; i < services_.size(); ++i) {
        if (services_[i]->helper_pid() == pid) {
            services_[i]->on_helper_exit(world_, status);
            settle(i);
            propagate();
            return true;
        }
        if (services_[i]->pid() == pid) {
            bool was = services_[i]->available();
            services_[i]->on_exit(world_, status);
            after_event(i, was);
            return true;
        }
    }
    return false;
}

void Supervisor::on_timer(std::size_t index) {
    if (index == shutdown_timer_index()) {
        // shutdown.timeout: whatever still runs is killed now, and later waves without waiting.
        deadline_passed_ = true;
        world_.log(config::LogLevel::warn, "shutdown timeout: killing what is still running");
        kill_all();
        return;
    }
    if (auto c = capability_at(index)) {
        capabilities_[*c]->on_timer(world_);
        settle_capability(*c);
        report_mode();
        return;
    }
    if (index == mode_timer_index()) {
        mode_timer_armed_ = false;
        report_mode();
        return;
    }
    if (index == startup_timer_index()) {
        if (startup_done_ || shutting_down_) return;  // fired before it was cancelled
        startup_done_ = true;
        startup_duration_ = std::chrono::duration_cast<Duration>(world_.now() - started_at_);
        world_.log(config::LogLevel::warn, "startup.timeout (" + config::format_duration(config_.main.startup_timeout) +
                                               ") reached: going on with what is ready");
        update_mode();
        end_startup_phase();
        report_mode();
        return;
    }
    if (index >= services_.size()) return;
    bool was = services_[index]->available();
    services_[index]->on_timer(world_);
    after_event(index, was);
}

void Supervisor::on_probe_result(std::size_t index, ProbeKind kind, resilience::ProbeStatus status,
                                 const std::string& detail) {
    if (auto c = capability_at(index)) {
        capabilities_[*c]->on_check_result(world_, status == resilience::ProbeStatus::success, detail);
        settle_capability(*c);
        report_mode();
        return;
    }
    if (index >= services_.size()) return;
    bool was = services_[index]->available();
    services_[index]->on_probe_result(world_, kind, status, detail);
    after_event(index, was);
}

void Supervisor::settle(std::size_t index) {
    Service& s = *services_[index];
    // A deadline already due (a restart with no backoff) is acted on now, not after a loop turn.
    for (int guard = 0; guard < 8; ++guard) {
        auto due = s.next_deadline();
        if (!due || *due > world_.now()) break;
        s.on_timer(world_);
    }
    world_.set_timer(index, s.next_deadline());
}

void Supervisor::kill_all() {
    for (std::size_t c = 0; c < capabilities_.size(); ++c) {
        capabilities_[c]->kill(world_);
        settle_capability(c);
    }
    for (const auto& s : services_) s->kill(world_);
}

namespace {

// A dependency that is unavailable after having had its chance (it failed its attempt, is
// recovering, paused, failed, stopped), or that cannot have one (disabled, itself blocked).
bool down(const Service& dep) {
    if (!dep.spec().enabled || dep.state() == State::blocked) return true;
    if (dep.state() == State::stopped && !dep.wants_running()) return true;
    return dep.settled() && !dep.available();
}

}  // namespace

bool Supervisor::dependencies_met(std::size_t index, std::string& waiting_for, bool& blocked) const {
    blocked = false;
    for (const config::Edge* e : graph_.dependencies_of(index)) {
        const Service& dep = *services_[e->to];
        const State st = dep.state();
        bool met = false;
        switch (e->condition) {
            case config::Condition::started:
                met = st == State::running || st == State::ready || st == State::unhealthy || st == State::completed;
                break;
            case config::Condition::healthy: met = st == State::ready || st == State::completed; break;
            case config::Condition::completed: met = st == State::completed; break;
        }
        // A soft dependency only has to have had its chance: it met the condition or failed trying.
        bool gave_up = !e->required && down(dep);
        if (!met && !gave_up) {
            blocked = e->required && down(dep);
            waiting_for = blocked ? dep.name() + " is " + std::string(to_string(dep.state()))
                                  : "needs " + dep.name() + " " + std::string(config::to_string(e->condition));
            return false;
        }
    }
    return true;
}

void Supervisor::propagate() {
    if (!started_) return;
    if (shutting_down_) return advance_shutdown();
    start_ready_services();
    update_mode();
    for (std::size_t c = 0; c < capabilities_.size(); ++c) {
        capabilities_[c]->requirements_changed(world_, unmet_requirement(*capabilities_[c]));
        settle_capability(c);
    }
    report_mode();
}

void Supervisor::start_ready_services() {
    // Starting one service can meet another's dependencies: repeat until nothing changes.
    for (bool changed = true; changed;) {
        changed = false;
        for (std::size_t i = 0; i < services_.size(); ++i) {
            Service& s = *services_[i];
            if (!s.spec().enabled || s.wants_running() || s.held()) continue;
            if (s.state() != State::waiting && s.state() != State::blocked) continue;
            std::string waiting_for;
            bool blocked = false;
            if (!dependencies_met(i, waiting_for, blocked)) {
                State before = s.state();
                s.set_waiting(world_, blocked ? State::blocked : State::waiting, waiting_for);
                changed = changed || s.state() != before;  // a newly blocked service can block others
                continue;
            }
            s.start(world_);
            settle(i);
            changed = true;
        }
    }
}

void Supervisor::shutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    world_.log(config::LogLevel::info, "shutting down");
    world_.set_timer(startup_timer_index(), std::nullopt);
    world_.set_timer(mode_timer_index(), std::nullopt);
    mode_timer_armed_ = false;
    update_mode();
    // What the capabilities set outside goes first (SPEC §4): their last deactivate runs
    // before any service stops.
    for (std::size_t c = 0; c < capabilities_.size(); ++c) {
        capabilities_[c]->shut_down(world_);
        settle_capability(c);
    }
    stop_waves_ = graph_.stop_waves();
    stop_wave_ = 0;
    // Nothing starts or restarts from now on; running processes wait for their wave.
    for (std::size_t i = 0; i < services_.size(); ++i) {
        services_[i]->hold(world_);
        settle(i);
    }
    world_.set_timer(shutdown_timer_index(), resilience::add_saturating(world_.now(), config_.main.shutdown_timeout));
    advance_shutdown();
}

void Supervisor::advance_shutdown() {
    if (!deadline_passed_ && capabilities_winding_down()) return;  // the hook's exit brings us back
    while (stop_wave_ < stop_waves_.size()) {
        bool still_running = false;
        for (auto i : stop_waves_[stop_wave_]) {
            services_[i]->stop(world_, deadline_passed_);
            settle(i);
            still_running = still_running || services_[i]->active();
        }
        if (still_running) return;  // the next exit brings us back here
        ++stop_wave_;
    }
    if (!shutdown_done_) {
        shutdown_done_ = true;
        world_.set_timer(shutdown_timer_index(), std::nullopt);
        world_.shutdown_complete();
    }
}

bool Supervisor::resume(std::string_view name) {
    auto i = graph_.index(name);
    if (!i) return false;
    services_[*i]->resume(world_);
    settle(*i);
    return true;
}

std::string Supervisor::control(Control what, std::string_view name) {
    if (shutting_down_) return "mainstay is shutting down";
    auto i = graph_.index(name);
    if (!i) return "no service named " + std::string(name);
    Service& s = *services_[*i];
    if (!s.spec().enabled) return std::string(name) + " is disabled";
    const bool was = s.available();
    std::string error;
    switch (what) {
        case Control::start: error = s.start_by_hand(world_); break;
        case Control::stop: error = s.stop_by_hand(world_); break;
        case Control::restart: error = s.restart_by_hand(world_); break;
        case Control::resume: error = s.resume_by_hand(world_); break;
    }
    if (error.empty()) after_event(*i, was);
    return error;
}

const std::vector<int>& Supervisor::handled_signals() {
    static const std::vector<int> signals{SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH};
    return signals;
}

void Supervisor::on_signal(int sig) {
    if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
        if (shutting_down_) {
            world_.log(config::LogLevel::warn, "second stop signal (" + config::signal_name(sig) + "): killing every service now");
            kill_all();
        } else {
            world_.log(config::LogLevel::info, "received " + config::signal_name(sig));
            shutdown();
        }
    } else if (sig == SIGHUP) {
        world_.log(config::LogLevel::warn, "SIGHUP: reload is not available yet; configuration unchanged");
    } else {  // passed on to every running service
        for (const auto& s : services_) {
            if (s->pid()) world_.signal_group(*s->pid(), sig);
        }
    }
}

}  // namespace mainstay::supervisor
