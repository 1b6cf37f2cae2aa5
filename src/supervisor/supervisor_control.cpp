// Supervisor, continued: what an operator asks (start, stop, restart, resume, upgrade, downgrade,
// signal) and the signals mainstay itself receives.
#include <algorithm>
#include <csignal>

#include "config/values.hpp"
#include "supervisor/supervisor.hpp"

namespace mainstay::supervisor {

bool Supervisor::resume(std::string_view name) {
    auto it = position_.find(std::string(name));
    if (it == position_.end()) return false;
    services_[it->second]->resume(world_);
    after_event(it->second, false);
    return true;
}

std::string Supervisor::upgrade(std::string_view capability) {
    return on_capability(capability, [&](Capability& c) { return c.upgrade(world_); });
}

std::string Supervisor::downgrade(std::string_view capability, const std::optional<std::string>& to) {
    return on_capability(capability, [&](Capability& c) { return c.downgrade(world_, to); });
}

std::string Supervisor::on_capability(std::string_view name, const std::function<std::string(Capability&)>& what) {
    if (shutting_down()) return "mainstay is shutting down";
    for (auto& c : capabilities_) {
        if (c->spec().name != name) continue;
        std::string error = what(*c);
        settle_capability(*c);
        mode_line_.dirty();
        propagate();
        return error;
    }
    if (position_.count(std::string(name)) != 0) return std::string(name) + " is a service, not a capability";
    return "no capability named " + std::string(name);
}

std::string Supervisor::control(Control what, std::string_view name) {
    if (shutting_down()) return "mainstay is shutting down";
    auto it = position_.find(std::string(name));
    if (it == position_.end()) {
        for (auto& c : capabilities_) {
            if (c->spec().name != name) continue;
            if (what != Control::resume) return std::string(name) + " is a capability: only resume applies to it";
            std::string error = c->resume_by_hand(world_);
            settle_capability(*c);
            propagate();
            return error;
        }
        return "no service named " + std::string(name);
    }
    const std::size_t i = it->second;
    Service& s = *services_[i];
    if (!s.spec().enabled) return std::string(name) + " is disabled";
    const bool was = s.available();
    std::string error;
    switch (what) {
        case Control::start:
            error = s.start_by_hand(world_);
            break;
        case Control::stop:
            error = s.stop_by_hand(world_);
            break;
        case Control::restart:
            error = s.restart_by_hand(world_);
            break;
        case Control::resume:
            error = s.resume_by_hand(world_);
            break;
    }
    if (error.empty()) after_event(i, was);
    return error;
}

std::vector<std::string> Supervisor::all_for(Control what) const {
    std::vector<std::string> out;
    for (const auto& s : services_) {
        if (!s->spec().enabled) continue;
        const State st = s->state();
        bool applies = false;
        switch (what) {
            case Control::start:
                applies = (s->held() && !s->active()) || st == State::failed || st == State::paused ||
                          st == State::recovering || st == State::stopped;
                break;
            case Control::stop:
                applies = !(s->held() && !s->active());
                break;
            case Control::restart:
                applies = true;
                break;
            case Control::resume:
                applies = st == State::paused || st == State::recovering ||
                          s->breaker().state() != resilience::BreakerState::closed;
                break;
        }
        if (applies) out.push_back(s->name());
    }
    if (what == Control::resume) {
        for (const auto& c : capabilities_) {
            if (c->held()) out.push_back(c->spec().name);
        }
    }
    return out;
}

std::string Supervisor::signal(std::string_view name, int sig) {
    const Service* s = find(name);
    if (s == nullptr) return "no service named " + std::string(name);
    if (!s->pid()) return std::string(name) + " is not running (" + std::string(to_string(s->state())) + ")";
    observer_.log(config::LogLevel::info, std::string(name) + ": " + config::signal_name(sig) + " sent by request");
    world_.signal_group(*s->pid(), sig);
    return {};
}

std::vector<std::string> Supervisor::running_services() const {
    std::vector<std::string> out;
    for (const auto& s : services_) {
        if (s->pid()) out.push_back(s->name());
    }
    return out;
}

const std::vector<int>& Supervisor::handled_signals() {
    static const std::vector<int> signals{SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH};
    return signals;
}

void Supervisor::on_signal(int sig) {
    if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
        if (shutting_down()) {
            observer_.log(config::LogLevel::warn,
                          "second stop signal (" + config::signal_name(sig) + "): killing every service now");
            kill_all();
        } else {
            observer_.log(config::LogLevel::info, "received " + config::signal_name(sig));
            shutdown();
        }
    } else if (sig == SIGHUP) {
        observer_.log(config::LogLevel::info, "received SIGHUP: reloading the configuration");
        if (!shutting_down()) world_.reload();
    } else {  // passed on to the running services that ask for it (`forward_signals`), and no other
        std::size_t sent = 0;
        for (const auto& s : services_) {
            const auto& wanted = s->spec().forward_signals;
            if (!s->pid() || std::find(wanted.begin(), wanted.end(), sig) == wanted.end()) continue;
            world_.signal_group(*s->pid(), sig);
            ++sent;
        }
        observer_.log(config::LogLevel::info, "received " + config::signal_name(sig) + ": passed on to " +
                                                  std::to_string(sent) + (sent == 1 ? " service" : " services") +
                                                  " (forward_signals)");
    }
}

}  // namespace mainstay::supervisor
