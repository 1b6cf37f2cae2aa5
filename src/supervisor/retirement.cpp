#include "supervisor/retirement.hpp"

#include <algorithm>
#include <utility>

namespace mainstay::supervisor {

void Retirement::retire(std::vector<std::unique_ptr<Service>> leaving, std::vector<std::vector<Service*>> waves,
                        std::vector<std::string> successors) {
    for (auto& s : leaving) services_.push_back(std::move(s));
    for (auto& w : waves) waves_.push_back(std::move(w));
    for (auto& name : successors) successors_.push_back(std::move(name));
}

bool Retirement::holds(const Service* s) const {
    return std::any_of(services_.begin(), services_.end(), [&](const auto& r) { return r.get() == s; });
}

bool Retirement::awaits_predecessor(std::string_view name) const {
    return std::find(successors_.begin(), successors_.end(), name) != successors_.end();
}

std::optional<Retirement::Gone> Retirement::advance(World& world, const std::function<void(Service&)>& after) {
    while (wave_ < waves_.size()) {
        bool still = false;
        for (Service* s : waves_[wave_]) {
            if (s->active() || s->wants_running()) s->stop(world);
            after(*s);
            still = still || s->active();
        }
        if (still) return std::nullopt;
        ++wave_;
    }
    Gone gone;
    gone.services = std::move(services_);
    gone.successors_waited = !successors_.empty();
    services_.clear();
    waves_.clear();
    wave_ = 0;
    successors_.clear();
    return gone;
}

void Retirement::retire(std::unique_ptr<Capability> capability) {
    capabilities_.push_back(std::move(capability));
}

void Retirement::await(config::CapabilitySpec successor) {
    capability_successors_.push_back(std::move(successor));
}

std::vector<Retirement::CapabilityGone> Retirement::capabilities_done() {
    std::vector<CapabilityGone> done;
    for (auto it = capabilities_.begin(); it != capabilities_.end();) {
        if ((*it)->winding_down()) {
            ++it;
            continue;
        }
        CapabilityGone gone{std::move(*it), std::nullopt};
        it = capabilities_.erase(it);
        const std::string& name = gone.capability->spec().name;
        auto next = std::find_if(capability_successors_.begin(), capability_successors_.end(),
                                 [&](const config::CapabilitySpec& c) { return c.name == name; });
        if (next != capability_successors_.end()) {
            gone.successor = std::move(*next);
            capability_successors_.erase(next);
        }
        done.push_back(std::move(gone));
    }
    return done;
}

}  // namespace mainstay::supervisor
