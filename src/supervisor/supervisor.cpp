#include "supervisor/supervisor.hpp"

#include <csignal>

namespace mainstay::supervisor {

Supervisor::Supervisor(const config::Config& config, World& world, std::uint64_t seed, resilience::EventSink* events)
    : config_(config), world_(world), random_(seed), graph_(config.services) {
    for (std::size_t i = 0; i < config.services.size(); ++i) {
        services_.push_back(std::make_unique<Service>(config.services[i], i, random_, events));
    }
}

const Service* Supervisor::find(std::string_view name) const {
    auto i = graph_.index(name);
    return i ? services_[*i].get() : nullptr;
}

void Supervisor::start() {
    started_ = true;
    propagate();
}

bool Supervisor::on_exit(int pid, const ExitStatus& status) {
    for (std::size_t i = 0; i < services_.size(); ++i) {
        if (services_[i]->helper_pid() == pid) {
            services_[i]->on_helper_exit(world_, status);
            settle(i);
            propagate();
            return true;
        }
        if (services_[i]->pid() == pid) {
            services_[i]->on_exit(world_, status);
            settle(i);
            propagate();
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
    if (index >= services_.size()) return;
    services_[index]->on_timer(world_);
    settle(index);
    propagate();
}

void Supervisor::on_probe_result(std::size_t index, ProbeKind kind, resilience::ProbeStatus status,
                                 const std::string& detail) {
    if (index >= services_.size()) return;
    services_[index]->on_probe_result(world_, kind, status, detail);
    settle(index);
    propagate();
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
    for (const auto& s : services_) s->kill(world_);
}

namespace {

// A dependency that will not meet its condition without help: it failed, paused, was stopped,
// is disabled, or is itself blocked.
bool down(const Service& dep) {
    switch (dep.state()) {
        case State::failed:
        case State::paused:
        case State::blocked: return true;
        case State::stopped: return !dep.wants_running();
        default: return !dep.spec().enabled;
    }
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
        bool gave_up = !e->required && (dep.settled() || down(dep));
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
    // Starting one service can meet another's dependencies: repeat until nothing changes.
    for (bool changed = true; changed;) {
        changed = false;
        for (std::size_t i = 0; i < services_.size(); ++i) {
            Service& s = *services_[i];
            if (!s.spec().enabled || s.wants_running()) continue;
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

}  // namespace mainstay::supervisor
