// Supervisor, continued: a reload applied (what changes, what keeps running) and the
// definitions it retires, stopped in order before their successors start.
#include <algorithm>
#include <csignal>

#include "config/values.hpp"
#include "supervisor/supervisor.hpp"

namespace mainstay::supervisor {

bool Supervisor::is_retiring(const Service* s) const {
    return std::any_of(retiring_.begin(), retiring_.end(), [&](const auto& r) { return r.get() == s; });
}

std::string Supervisor::apply(const config::Config& next, const config::ConfigDiff& diff) {
    if (shutting_down()) return "mainstay is shutting down";
    main_ = next.main;
    auto listed = [](const std::vector<std::string>& v, const std::string& name) {
        return std::find(v.begin(), v.end(), name) != v.end();
    };
    // Removed and changed services leave the set now and stop in waves (dependents first, by
    // the previous graph); a changed one's successor waits for its old process to be gone.
    std::vector<std::unique_ptr<Service>> kept(services_.size());
    std::vector<std::size_t> leaving;
    for (std::size_t i = 0; i < services_.size(); ++i) {
        const std::string& name = services_[i]->name();
        if (listed(diff.removed_services, name) || listed(diff.changed_services, name)) leaving.push_back(i);
    }
    std::vector<std::vector<Service*>> waves;
    for (const auto& wave : graph_->stop_waves()) {
        std::vector<Service*> w;
        for (std::size_t i : wave) {
            if (std::find(leaving.begin(), leaving.end(), i) != leaving.end()) w.push_back(services_[i].get());
        }
        if (!w.empty()) waves.push_back(std::move(w));
    }
    for (std::size_t i : leaving) {
        const std::string& name = services_[i]->name();
        observer_.log(config::LogLevel::info,
                      name + (listed(diff.changed_services, name) ? ": changed: restarting under its new definition"
                                                                  : ": removed: stopping"));
        if (listed(diff.changed_services, name)) awaiting_predecessor_.push_back(name);
        retiring_.push_back(std::move(services_[i]));
    }
    for (auto& w : waves) retire_waves_.push_back(std::move(w));
    // The new order is the new configuration's: kept services move over, new ones are made.
    std::unordered_map<std::string, std::unique_ptr<Service>> by_name;
    for (auto& s : services_) {
        if (s) by_name[s->name()] = std::move(s);
    }
    services_.clear();
    for (const auto& spec : next.services) {
        auto it = by_name.find(spec.name);
        if (it != by_name.end()) {
            services_.push_back(std::move(it->second));
            continue;
        }
        auto made = std::make_unique<Service>(spec, next_id_++, observer_, random_, events_);
        service_ids_[made->id()] = made.get();
        if (listed(diff.added_services, spec.name)) observer_.log(config::LogLevel::info, spec.name + ": added");
        services_.push_back(std::move(made));
    }
    index_services();
    for (std::size_t i = 0; i < services_.size(); ++i) enqueue(i);
    // Capabilities: a removed or changed one winds down (deactivate when FULL), a new
    // definition starts once the old one is done.
    for (auto it = capabilities_.begin(); it != capabilities_.end();) {
        const std::string& name = (*it)->spec().name;
        if (listed(diff.removed_capabilities, name) || listed(diff.changed_capabilities, name)) {
            observer_.log(config::LogLevel::info,
                          "capability " + name + (listed(diff.changed_capabilities, name) ? ": changed" : ": removed"));
            (*it)->shut_down(world_);
            settle_capability(**it);
            retiring_caps_.push_back(std::move(*it));
            it = capabilities_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& c : next.capabilities) {
        if (!c.enabled) continue;
        if (listed(diff.changed_capabilities, c.name)) pending_caps_.push_back(c);
        if (listed(diff.added_capabilities, c.name)) {
            auto made = std::make_unique<Capability>(c, next_id_++, observer_, random_, events_);
            capability_ids_[made->id()] = made.get();
            made->start(world_, unmet());
            settle_capability(*made);
            capabilities_.push_back(std::move(made));
        }
    }
    retire_capabilities_done();
    advance_retiring();
    mode_line_.dirty();
    propagate();
    return {};
}

void Supervisor::advance_retiring() {
    while (retire_wave_ < retire_waves_.size()) {
        bool still = false;
        for (Service* s : retire_waves_[retire_wave_]) {
            if (s->active() || s->wants_running()) s->stop(world_);
            track(*s);
            world_.set_timer(s->id(), s->next_deadline());
            still = still || s->active();
        }
        if (still) return;  // the next exit brings us back here
        ++retire_wave_;
    }
    // Every retiring service has stopped: they go, and their successors may start.
    for (auto& s : retiring_) {
        track(*s);
        world_.set_timer(s->id(), std::nullopt);
        world_.forget(s->id());
        service_ids_.erase(s->id());
    }
    retiring_.clear();
    retire_waves_.clear();
    retire_wave_ = 0;
    if (!awaiting_predecessor_.empty()) {
        awaiting_predecessor_.clear();
        for (std::size_t i = 0; i < services_.size(); ++i) enqueue(i);
        propagate();
    }
}

void Supervisor::after_retiring_event(Service& s) {
    track(s);
    world_.set_timer(s.id(), s.next_deadline());
    if (shutting_down()) return advance_shutdown();
    advance_retiring();
}

void Supervisor::retire_capabilities_done() {
    for (auto it = retiring_caps_.begin(); it != retiring_caps_.end();) {
        if ((*it)->winding_down()) {
            ++it;
            continue;
        }
        const std::string name = (*it)->spec().name;
        world_.set_timer((*it)->id(), std::nullopt);
        world_.forget((*it)->id());
        capability_ids_.erase((*it)->id());
        it = retiring_caps_.erase(it);
        // Its new definition, if it has one, starts now.
        for (auto p = pending_caps_.begin(); p != pending_caps_.end(); ++p) {
            if (p->name != name) continue;
            auto made = std::make_unique<Capability>(*p, next_id_++, observer_, random_, events_);
            capability_ids_[made->id()] = made.get();
            made->start(world_, unmet());
            settle_capability(*made);
            capabilities_.push_back(std::move(made));
            pending_caps_.erase(p);
            break;
        }
    }
}

}  // namespace mainstay::supervisor
