#include "resilience/registry.hpp"

#include <algorithm>
#include <tuple>

namespace mainstay::resilience {

namespace {

const void* address(const Registry::Machine& machine) {
    return std::visit([](auto* m) -> const void* { return m; }, machine);
}

const std::string& owner_of(const Registry::Machine& machine) {
    return std::visit([](auto* m) -> const std::string& { return m->owner(); }, machine);
}

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

MachineStatus status_of(const Registry::Machine& machine) {
    return std::visit(
        Overloaded{
            [](const CircuitBreaker* b) {
                return MachineStatus{b->owner(), MachineKind::breaker, std::string(to_string(b->state())),
                                     b->next_deadline(), b->consecutive_failures(), {}};
            },
            [](const BackgroundRecovery* r) {
                std::string detail = r->state() == RecoveryState::paused ? r->pause_reason() : r->last_error();
                return MachineStatus{r->owner(), MachineKind::recovery, std::string(to_string(r->state())),
                                     r->next_deadline(), r->attempts(), std::move(detail)};
            },
            [](const CapabilityUpgrade* c) {
                return MachineStatus{c->owner(), MachineKind::capability, std::string(to_string(c->state())),
                                     c->next_deadline(), c->activation_failures(), c->last_error()};
            },
            [](const HealthTracker* h) {
                std::string detail = h->last_result() ? h->last_result()->detail : std::string();
                return MachineStatus{h->owner(), MachineKind::health, std::string(to_string(h->state())),
                                     h->next_deadline(), h->consecutive_failures(), std::move(detail)};
            },
        },
        machine);
}

}  // namespace

std::string_view to_string(MachineKind kind) {
    switch (kind) {
        case MachineKind::breaker: return "breaker";
        case MachineKind::recovery: return "recovery";
        case MachineKind::capability: return "capability";
        case MachineKind::health: return "health";
    }
    return "?";
}

void Registry::add_machine(Machine machine) {
    const void* key = address(machine);
    const bool known = std::any_of(machines_.begin(), machines_.end(),
                                   [&](const Machine& m) { return address(m) == key; });
    if (!known) machines_.push_back(machine);
}

bool Registry::remove(const void* machine) {
    const auto it = std::find_if(machines_.begin(), machines_.end(),
                                 [&](const Machine& m) { return address(m) == machine; });
    if (it == machines_.end()) return false;
    machines_.erase(it);
    return true;
}

std::size_t Registry::remove_owner(std::string_view owner) {
    return std::erase_if(machines_, [&](const Machine& m) { return owner_of(m) == owner; });
}

std::vector<MachineStatus> Registry::list() const {
    std::vector<MachineStatus> out;
    out.reserve(machines_.size());
    for (const Machine& m : machines_) out.push_back(status_of(m));
    std::stable_sort(out.begin(), out.end(), [](const MachineStatus& a, const MachineStatus& b) {
        return std::tie(a.owner, a.kind) < std::tie(b.owner, b.kind);
    });
    return out;
}

std::optional<MachineStatus> Registry::find(std::string_view owner, MachineKind kind) const {
    for (const Machine& m : machines_) {
        MachineStatus s = status_of(m);
        if (s.owner == owner && s.kind == kind) return s;
    }
    return std::nullopt;
}

}  // namespace mainstay::resilience
