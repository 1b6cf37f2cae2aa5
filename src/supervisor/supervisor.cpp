#include "supervisor/supervisor.hpp"

#include <algorithm>
#include <csignal>

#include "config/values.hpp"

namespace mainstay::supervisor {

Supervisor::Supervisor(const config::Config& config, World& world, Observer& observer, std::uint64_t seed,
                       resilience::EventSink* events)
    : main_(config.main), world_(world), observer_(observer), random_(seed), events_(events) {
    for (const auto& spec : config.services)
        services_.push_back(std::make_unique<Service>(spec, next_id_++, observer_, random_, events));
    for (const auto& c : config.capabilities) {
        if (!c.enabled) continue;
        capabilities_.push_back(std::make_unique<Capability>(c, next_id_++, observer_, random_, events));
    }
    for (auto& s : services_) service_ids_[s->id()] = s.get();
    for (auto& c : capabilities_) capability_ids_[c->id()] = c.get();
    index_services();
}

void Supervisor::index_services() {
    std::vector<config::ServiceSpec> specs;
    specs.reserve(services_.size());
    for (const auto& s : services_) specs.push_back(s->spec());
    graph_ = std::make_unique<config::DependencyGraph>(specs);
    const std::size_t n = services_.size();
    position_.clear();
    for (std::size_t i = 0; i < n; ++i) position_[services_[i]->name()] = i;
    dependencies_.assign(n, {});
    dependents_.assign(n, {});
    for (const auto& e : graph_->edges()) {
        dependencies_[e.from].push_back(&e);
        dependents_[e.to].push_back(&e);
    }
    queued_.assign(n, 0);
    queue_.clear();
    // The counters start over from what each service is now.
    counted_.assign(n, Counted{});
    enabled_ = unavailable_ = unsettled_ = critical_failed_ = 0;
    for (std::size_t i = 0; i < n; ++i) count(i);
}

Service* Supervisor::service_at(Id id) const {
    auto it = service_ids_.find(id);
    return it == service_ids_.end() ? nullptr : it->second;
}

Capability* Supervisor::capability_at(Id id) const {
    auto it = capability_ids_.find(id);
    return it == capability_ids_.end() ? nullptr : it->second;
}

const Service* Supervisor::service(Id id) const {
    return service_at(id);
}

const Service* Supervisor::find(std::string_view name) const {
    auto it = position_.find(std::string(name));
    return it == position_.end() ? nullptr : services_[it->second].get();
}

Id Supervisor::id_of(std::string_view name) const {
    if (const Service* s = find(name)) return s->id();
    for (const auto& c : capabilities_) {
        if (c->spec().name == name) return c->id();
    }
    return 0;
}

const std::string* Supervisor::name_of(Id id) const {
    if (const Service* s = service_at(id)) return &s->name();
    if (const Capability* c = capability_at(id)) return &c->spec().name;
    return nullptr;
}

std::string Supervisor::unmet_requirement(const std::vector<std::string>& names) const {
    for (const auto& name : names) {
        const Service* s = find(name);
        if (s == nullptr) return name + " is not defined";
        if (!s->available()) {
            return name + " is " + std::string(to_string(s->state())) + (s->reason().empty() ? "" : ": " + s->reason());
        }
    }
    return {};
}

Capability::Unmet Supervisor::unmet() const {
    return [this](const std::vector<std::string>& names) { return unmet_requirement(names); };
}

void Supervisor::settle_capability(Capability& c) {
    world_.set_timer(c.id(), c.next_deadline());
}

void Supervisor::start() {
    phase_ = Phase::starting;
    started_at_ = world_.now();
    mode_since_ = started_at_;
    world_.set_timer(kStartupTimer, resilience::add_saturating(started_at_, main_.startup_timeout));
    for (std::size_t i = 0; i < services_.size(); ++i) enqueue(i);
    propagate();
    for (auto& c : capabilities_) {
        c->start(world_, unmet());
        settle_capability(*c);
    }
    if (phase_ == Phase::up) end_startup_phase();  // it ended at once: nothing could start
}

void Supervisor::end_startup_phase() {
    for (auto& c : capabilities_) {
        // Told first, so one whose requirements just came is on its way up, not cleared.
        c->requirements_changed(world_, unmet());
        c->startup_ended(world_);
        settle_capability(*c);
    }
}

bool Supervisor::capabilities_winding_down() const {
    for (const auto& c : capabilities_) {
        if (c->winding_down()) return true;
    }
    return false;
}

void Supervisor::after_event(std::size_t i, bool was_available) {
    settle(i);
    if (!was_available && services_[i]->available()) {
        for (const config::Edge* e : dependents_[i]) {
            services_[e->from]->wake(world_);
            settle(e->from);
        }
    }
    propagate();
}

void Supervisor::count(std::size_t i) {
    const Service& s = *services_[i];
    Counted& c = counted_[i];
    enabled_ -= c.enabled;
    unavailable_ -= c.unavailable;
    unsettled_ -= c.unsettled;
    critical_failed_ -= c.critical_failed;
    const bool enabled = s.spec().enabled;
    const bool unavailable = enabled && !s.available();
    if (unavailable || c.unavailable) {
        // Something the mode line says (or said) changed.
        if (unavailable != c.unavailable || s.state() != c.state || s.reason() != c.reason) mode_line_.dirty();
    }
    c.enabled = enabled;
    c.unavailable = unavailable;
    c.unsettled = unavailable && !(s.settled() || s.state() == State::blocked);
    c.critical_failed = unavailable && s.spec().critical && (s.state() == State::failed || s.state() == State::paused);
    enabled_ += c.enabled;
    unavailable_ += c.unavailable;
    unsettled_ += c.unsettled;
    critical_failed_ += c.critical_failed;
    if (s.state() != c.state) {
        c.state = s.state();
        enqueue_dependents(i);                      // they may start, or be blocked, now
        if (c.state == State::waiting) enqueue(i);  // started by hand, or no longer blocked: look again
    }
    if (s.reason() != c.reason) c.reason = s.reason();
}

void Supervisor::track(Service& s) {
    auto reindex = [&](std::optional<int>& indexed, std::optional<int> now) {
        if (indexed == now) return;
        if (indexed) pids_.erase(*indexed);
        if (now) pids_[*now] = &s;
        indexed = now;
    };
    reindex(s.indexed.pid, s.pid());
    reindex(s.indexed.helper, s.helper_pid());
}

void Supervisor::settle(std::size_t i) {
    Service& s = *services_[i];
    // A deadline already due (a restart with no backoff) is acted on now, not after a loop turn.
    for (int guard = 0; guard < 8; ++guard) {
        auto due = s.next_deadline();
        if (!due || *due > world_.now()) break;
        s.on_timer(world_);
    }
    world_.set_timer(s.id(), s.next_deadline());
    track(s);
    count(i);
}

void Supervisor::enqueue(std::size_t i) {
    if (queued_[i]) return;
    queued_[i] = 1;
    queue_.push_back(i);
}

void Supervisor::enqueue_dependents(std::size_t i) {
    for (const config::Edge* e : dependents_[i]) enqueue(e->from);
}

void Supervisor::drain() {
    // In the order they were queued (at start: configuration order). Starting one service can
    // meet another's dependencies, blocking one can block others: settle() queues those.
    for (std::size_t head = 0; head < queue_.size(); ++head) {
        const std::size_t i = queue_[head];
        queued_[i] = 0;
        Service& s = *services_[i];
        if (const config::Edge* e = restart_due(i)) {
            s.restart_after(world_, services_[e->to]->name());
            settle(i);
            continue;
        }
        if (!s.spec().enabled || s.wants_running() || s.held()) continue;
        if (s.state() != State::waiting && s.state() != State::blocked) continue;
        if (retirement_.awaits_predecessor(s.name())) {
            s.set_waiting(world_, State::waiting, "the previous definition is stopping");
            settle(i);
            continue;
        }
        std::string waiting_for;
        bool blocked = false;
        if (dependencies_met(i, waiting_for, blocked)) {
            s.start(world_);
        } else {
            s.set_waiting(world_, blocked ? State::blocked : State::waiting, waiting_for);
        }
        settle(i);
    }
    queue_.clear();
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
        line += (c == 0 ? "; capabilities: " : ", ") + cap.spec().name + " " +
                std::string(resilience::to_string(cap.state()));
        if (const std::string r = cap.reason(); !r.empty()) line += " (" + r + ")";
    }
    return line;
}

void Supervisor::update_mode() {
    Mode next = Mode::stopping;
    if (!shutting_down()) {
        if (phase_ == Phase::starting && unsettled_ == 0) {
            phase_ = Phase::up;
            world_.set_timer(kStartupTimer, std::nullopt);
            startup_duration_ = std::chrono::duration_cast<Duration>(world_.now() - started_at_);
            observer_.log(config::LogLevel::info,
                          "startup finished in " + std::to_string(startup_duration_->count()) + " ms");
            end_startup_phase();
        }
        // `full` also needs every capability on its best tier (SPEC §5), not on its way there.
        const bool capabilities_full = std::all_of(capabilities_.begin(), capabilities_.end(), [](const auto& c) {
            return c->state() == resilience::CapabilityState::full;
        });
        next = phase_ == Phase::starting                ? Mode::starting
               : critical_failed_ > 0                   ? Mode::critical
               : unavailable_ == 0 && capabilities_full ? Mode::full
                                                        : Mode::degraded;
    }
    if (next == mode_) return;
    const Mode was = mode_;
    mode_ = next;
    mode_since_ = world_.now();
    observer_.record({Transition::Subject::mode, {}, was, next, {}, std::nullopt, std::nullopt});
    if (next == Mode::critical && main_.on_critical_failure == config::CriticalFailure::exit) {
        report_mode();
        observer_.log(config::LogLevel::error, "on_critical_failure: exit: stopping everything");
        exit_code_ = 1;
        shutdown();
    }
}

void Supervisor::report_mode() {
    mode_line_.report(world_, observer_, mode_, [this] { return mode_summary(); });
}

bool Supervisor::on_exit(int pid, const ExitStatus& status) {
    for (auto& c : capabilities_) {
        if (c->on_exit(world_, pid, status)) {
            settle_capability(*c);
            mode_line_.dirty();
            update_mode();
            report_mode();
            if (shutting_down()) advance_shutdown();  // services may stop once the last hook ended
            return true;
        }
    }
    for (auto& c : retirement_.capabilities()) {
        if (c->on_exit(world_, pid, status)) {
            settle_capability(*c);
            retire_capabilities_done();
            return true;
        }
    }
    auto it = pids_.find(pid);
    if (it == pids_.end()) return false;
    Service& s = *it->second;
    if (retirement_.holds(&s)) {
        if (s.helper_pid() == pid)
            s.on_helper_exit(world_, status);
        else if (s.pid() == pid)
            s.on_exit(world_, status);
        after_retiring_event(s);
        return true;
    }
    const std::size_t i = position_.at(s.name());
    if (s.helper_pid() == pid) {
        s.on_helper_exit(world_, status);
        settle(i);
        propagate();
        return true;
    }
    if (s.pid() == pid) {
        const bool was = s.available();
        s.on_exit(world_, status);
        after_event(i, was);
        if (auto code = s.take_shutdown_code(); code && !shutting_down()) {
            observer_.log(
                config::LogLevel::warn,
                s.name() + ": on_exit: shutdown: stopping everything; mainstay exits with " + std::to_string(*code));
            exit_code_ = *code;
            shutdown();
        }
        return true;
    }
    return false;
}

void Supervisor::on_notice(int pid, const Notice& notice) {
    auto it = pids_.find(pid);
    if (it == pids_.end() || retirement_.holds(it->second)) return;
    Service& s = *it->second;
    if (s.pid() != pid) return;
    const std::size_t i = position_.at(s.name());
    const bool was = s.available();
    s.on_notice(world_, notice);
    after_event(i, was);
}

void Supervisor::on_timer(Id id) {
    if (id == kShutdownTimer) {
        // shutdown.timeout: whatever still runs is killed now, and later waves without waiting.
        deadline_passed_ = true;
        observer_.log(config::LogLevel::warn, "shutdown timeout: killing what is still running");
        kill_all();
        return;
    }
    if (id == kModeTimer) {
        mode_line_.timer_done();
        report_mode();
        return;
    }
    if (id == kStartupTimer) {
        if (phase_ != Phase::starting) return;  // fired before it was cancelled
        phase_ = Phase::up;
        startup_duration_ = std::chrono::duration_cast<Duration>(world_.now() - started_at_);
        observer_.log(config::LogLevel::warn, "startup.timeout (" + config::format_duration(main_.startup_timeout) +
                                                  ") reached: going on with what is ready");
        update_mode();
        end_startup_phase();
        report_mode();
        return;
    }
    if (Capability* c = capability_at(id)) {
        c->on_timer(world_);
        settle_capability(*c);
        mode_line_.dirty();
        update_mode();
        report_mode();
        return;
    }
    Service* s = service_at(id);
    if (s == nullptr) return;  // removed meanwhile
    if (retirement_.holds(s)) {
        s->on_timer(world_);
        after_retiring_event(*s);
        return;
    }
    const std::size_t i = position_.at(s->name());
    const bool was = s->available();
    s->on_timer(world_);
    after_event(i, was);
}

void Supervisor::on_probe_result(Id id, ProbeKind kind, resilience::ProbeStatus status, const std::string& detail) {
    if (Capability* c = capability_at(id)) {
        c->on_check_result(world_, status == resilience::ProbeStatus::success, detail);
        settle_capability(*c);
        mode_line_.dirty();
        update_mode();
        report_mode();
        return;
    }
    Service* s = service_at(id);
    if (s == nullptr || retirement_.holds(s)) return;
    const std::size_t i = position_.at(s->name());
    const bool was = s->available();
    s->on_probe_result(world_, kind, status, detail);
    after_event(i, was);
}

void Supervisor::kill_all() {
    for (auto& c : capabilities_) {
        c->kill(world_);
        settle_capability(*c);
    }
    for (const auto& s : services_) s->kill(world_);
    for (const auto& s : retirement_.services()) s->kill(world_);
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

namespace {

bool condition_met(config::Condition condition, State st) {
    switch (condition) {
        case config::Condition::started:
            return st == State::running || st == State::ready || st == State::unhealthy || st == State::completed;
        case config::Condition::healthy:
            return st == State::ready || st == State::completed;
        case config::Condition::completed:
            return st == State::completed;
    }
    return false;
}

}  // namespace

const config::Edge* Supervisor::restart_due(std::size_t i) const {
    const Service& s = *services_[i];
    if (!s.pid() || s.state() == State::stopping || !s.wants_running()) return nullptr;
    for (const config::Edge* e : dependencies_[i]) {
        if (!e->restart) continue;
        const Service& dep = *services_[e->to];
        // Its dependency started again after it did, and is back as the edge wants it.
        if (dep.launch_serial() > s.launch_serial() && condition_met(e->condition, dep.state())) return e;
    }
    return nullptr;
}

bool Supervisor::dependencies_met(std::size_t i, std::string& waiting_for, bool& blocked) const {
    blocked = false;
    for (const config::Edge* e : dependencies_[i]) {
        const Service& dep = *services_[e->to];
        const bool met = condition_met(e->condition, dep.state());
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
    if (phase_ == Phase::created) return;
    if (shutting_down()) return advance_shutdown();
    drain();
    update_mode();
    for (auto& c : capabilities_) {
        const auto before = c->state();
        c->requirements_changed(world_, unmet());
        settle_capability(*c);
        if (c->state() != before) mode_line_.dirty();
    }
    update_mode();
    report_mode();
}

void Supervisor::shutdown() {
    if (shutting_down()) return;
    phase_ = Phase::stopping;
    observer_.log(config::LogLevel::info, "shutting down");
    world_.set_timer(kStartupTimer, std::nullopt);
    world_.set_timer(kModeTimer, std::nullopt);
    mode_line_.timer_done();
    update_mode();
    // What the capabilities set outside goes first (SPEC §4): their last deactivate runs
    // before any service stops.
    for (auto& c : capabilities_) {
        c->shut_down(world_);
        settle_capability(*c);
    }
    stop_waves_ = graph_->stop_waves();
    stop_wave_ = 0;
    for (const auto& r : retirement_.services()) {  // a reload's services still stopping go on stopping
        r->stop(world_);
        track(*r);
        world_.set_timer(r->id(), r->next_deadline());
    }
    // Nothing starts or restarts from now on; running processes wait for their wave.
    for (std::size_t i = 0; i < services_.size(); ++i) {
        services_[i]->hold(world_);
        settle(i);
    }
    world_.set_timer(kShutdownTimer, resilience::add_saturating(world_.now(), main_.shutdown_timeout));
    advance_shutdown();
}

void Supervisor::advance_shutdown() {
    if (!deadline_passed_ && capabilities_winding_down()) return;  // the hook's exit brings us back
    while (stop_wave_ < stop_waves_.size()) {
        // A wave is told to stop once (and once more, with SIGKILL, when shutdown.timeout has
        // passed); after that an exit only asks whether the wave is done, so stopping a wave of
        // N costs N stops, not N at every one of its N exits.
        const bool issue = issued_wave_ != stop_wave_ || issued_forced_ != deadline_passed_;
        bool still_running = false;
        for (auto i : stop_waves_[stop_wave_]) {
            if (issue) {
                services_[i]->stop(world_, deadline_passed_);
                settle(i);
            }
            still_running = still_running || services_[i]->active();
        }
        issued_wave_ = stop_wave_;
        issued_forced_ = deadline_passed_;
        if (still_running) return;  // the next exit brings us back here
        ++stop_wave_;
    }
    for (const auto& r : retirement_.services()) {
        if (r->active()) return;  // a reload's service still stopping: its exit brings us back
    }
    if (phase_ != Phase::stopped) {
        phase_ = Phase::stopped;
        world_.set_timer(kShutdownTimer, std::nullopt);
        world_.shutdown_complete();
    }
}

}  // namespace mainstay::supervisor
