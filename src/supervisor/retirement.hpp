// What a reload takes out of service, from then until it is gone.
//
// Removed and changed services stop in waves, dependents first (by the graph they were part
// of), each with its own stop signal and timeout; a changed service's new definition does not
// start before its old process is gone. Removed and changed capabilities wind down (a FULL one
// runs its deactivate); a changed capability's new definition starts once the old one is done.
// The Supervisor decides what leaves (Supervisor::apply) and keeps its indexes; this keeps the
// leaving ones and says when each has gone.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"
#include "supervisor/capability.hpp"
#include "supervisor/service.hpp"
#include "supervisor/world.hpp"

namespace mainstay::supervisor {

class Retirement {
public:
    // Takes `leaving` out of service, to stop in `waves` (pointers into `leaving`, dependents
    // first); `successors` names the changed ones whose new definition waits for them.
    void retire(std::vector<std::unique_ptr<Service>> leaving, std::vector<std::vector<Service*>> waves,
                std::vector<std::string> successors);
    bool holds(const Service* s) const;
    // `name`'s previous definition is still stopping: its new one waits.
    bool awaits_predecessor(std::string_view name) const;
    const std::vector<std::unique_ptr<Service>>& services() const { return services_; }

    // The services of a reload whose last wave has stopped, handed back to go for good.
    struct Gone {
        std::vector<std::unique_ptr<Service>> services;
        bool successors_waited{false};  // some new definition waited for them: it may start now
    };
    // Tells the current wave to stop (`after` runs for each of its services: the supervisor
    // indexes its pids and arms its timer) and moves on while a wave has stopped; when the last
    // has, hands its services back. nullopt while one still runs (its exit brings us back).
    std::optional<Gone> advance(World& world, const std::function<void(Service&)>& after);

    // A removed or changed capability, already told to wind down.
    void retire(std::unique_ptr<Capability> capability);
    // The new definition of a changed capability: it starts once the old one is done.
    void await(config::CapabilitySpec successor);
    std::vector<std::unique_ptr<Capability>>& capabilities() { return capabilities_; }

    // A capability whose winding down is over, handed back to go, with its new definition if
    // one waited for it.
    struct CapabilityGone {
        std::unique_ptr<Capability> capability;
        std::optional<config::CapabilitySpec> successor;
    };
    std::vector<CapabilityGone> capabilities_done();

    // Services and capabilities still leaving.
    std::size_t size() const { return services_.size() + capabilities_.size(); }

private:
    std::vector<std::unique_ptr<Service>> services_;
    std::vector<std::vector<Service*>> waves_;
    std::size_t wave_{0};
    std::vector<std::string> successors_;  // changed services: not started before the old one is gone
    std::vector<std::unique_ptr<Capability>> capabilities_;
    std::vector<config::CapabilitySpec> capability_successors_;
};

}  // namespace mainstay::supervisor
