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
                return MachineStatus{.owner = b->owner(),
                                     .kind = MachineKind::breaker,
                                     .operation = b->operation(),
                                     .state = std::string(to_string(b->state())),
                                     .next_deadline = b->next_deadline(),
                                     .attempts = b->consecutive_failures(),
                                     .detail = {}};
            },
            [](const BackgroundRecovery* r) {
                std::string detail = r->state() == RecoveryState::paused ? r->pause_reason() : r->last_error();
                return MachineStatus{.owner = r->owner(),
                                     .kind = MachineKind::recovery,
                                     .operation = r->operation(),
                                     .state = std::string(to_string(r->state())),
                                     .next_deadline = r->next_deadline(),
                                     .attempts = r->attempts(),
                                     .detail = std::move(detail)};
            },
            [](const CapabilityUpgrade* c) {
                return MachineStatus{.owner = c->owner(),
                                     .kind = MachineKind::capability,
                                     .operation = c->operation(),
                                     .state = std::string(to_string(c->state())),
                                     .next_deadline = c->next_deadline(),
                                     .attempts = c->activation_failures(),
                                     .detail = c->last_error()};
            },
            [](const HealthTracker* h) {
                std::string detail = h->last_result() ? h->last_result()->detail : std::string();
                return MachineStatus{.owner = h->owner(),
                                     .kind = MachineKind::health,
                                     .operation = h->operation(),
                                     .state = std::string(to_string(h->state())),
                                     .next_deadline = h->next_deadline(),
                                     .attempts = h->consecutive_failures(),
                                     .detail = std::move(detail)};
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
        return std::tie(a.owner, a.kind, a.operation) < std::tie(b.owner, b.kind, b.operation);
    });
    return out;
}

std::optional<MachineStatus> Registry::find(std::string_view owner, MachineKind kind,
                                            std::optional<std::string_view> operation) const {
    for (const Machine& m : machines_) {
        MachineStatus s = status_of(m);
        if (s.owner == owner && s.kind == kind && (!operation || s.operation == *operation)) return s;
    }
    return std::nullopt;
}

}  // namespace mainstay::resilience
