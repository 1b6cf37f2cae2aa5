// Supervisor, continued: a reload applied (what changes, what keeps running), and the
// supervisor's side of what it retires (retirement.hpp keeps them until they are gone).
#include <algorithm>
#include <csignal>

#include "config/values.hpp"
#include "supervisor/supervisor.hpp"

namespace mainstay::supervisor {

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
    std::vector<std::unique_ptr<Service>> retired;
    std::vector<std::string> successors;
    for (std::size_t i : leaving) {
        const std::string& name = services_[i]->name();
        observer_.log(config::LogLevel::info,
                      name + (listed(diff.changed_services, name) ? ": changed: restarting under its new definition"
                                                                  : ": removed: stopping"));
        if (listed(diff.changed_services, name)) successors.push_back(name);
        retired.push_back(std::move(services_[i]));
    }
    retirement_.retire(std::move(retired), std::move(waves), std::move(successors));
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
            retirement_.retire(std::move(*it));
            it = capabilities_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& c : next.capabilities) {
        if (!c.enabled) continue;
        if (listed(diff.changed_capabilities, c.name)) retirement_.await(c);
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
    auto gone = retirement_.advance(world_, [this](Service& s) {
        track(s);
        world_.set_timer(s.id(), s.next_deadline());
    });
    if (!gone) return;
    for (auto& s : gone->services) {
        track(*s);
        world_.set_timer(s->id(), std::nullopt);
        world_.forget(s->id());
        service_ids_.erase(s->id());
    }
    if (gone->successors_waited) {
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
    for (auto& done : retirement_.capabilities_done()) {
        const Id id = done.capability->id();
        world_.set_timer(id, std::nullopt);
        world_.forget(id);
        capability_ids_.erase(id);
        if (!done.successor) continue;
        auto made = std::make_unique<Capability>(*done.successor, next_id_++, observer_, random_, events_);
        capability_ids_[made->id()] = made.get();
        made->start(world_, unmet());
        settle_capability(*made);
        capabilities_.push_back(std::move(made));
    }
}

}  // namespace mainstay::supervisor
