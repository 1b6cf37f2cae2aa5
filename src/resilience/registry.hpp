// Registry: one place that lists every live resilience machine by owner, for status and metrics.
//
// The supervisor owns the machines; the registry only points at them, so a machine must be
// removed before it is destroyed. list() reads each machine's current state and next deadline
// into plain values, sorted by owner, kind and operation, which a status reporter can print or a
// metrics reporter can turn into gauges (e.g. mainstay_circuit_breaker_state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "resilience/capability.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/clock.hpp"
#include "resilience/health.hpp"
#include "resilience/recovery.hpp"

namespace mainstay::resilience {

enum class MachineKind { breaker, recovery, capability, health };
std::string_view to_string(MachineKind kind);

struct MachineStatus {
    std::string owner;
    MachineKind kind{};
    std::string operation;                 // from the EventSource, e.g. "readiness"; may be empty
    std::string state;                     // the machine's own state word, e.g. "half-open"
    std::optional<TimePoint> next_deadline;
    std::uint32_t attempts{0};             // recovery: attempts; capability: failed activations
    std::string detail;                    // last error or pause reason, when there is one
};

class Registry {
public:
    using Machine = std::variant<const CircuitBreaker*, const BackgroundRecovery*,
                                 const CapabilityUpgrade*, const HealthTracker*>;

    void add(const CircuitBreaker& breaker) { add_machine(&breaker); }
    void add(const BackgroundRecovery& recovery) { add_machine(&recovery); }
    void add(const CapabilityUpgrade& capability) { add_machine(&capability); }
    void add(const HealthTracker& health) { add_machine(&health); }
    // Forgets one machine; false when it was not registered.
    bool remove(const void* machine);
    // Forgets every machine of an owner (e.g. a service removed by a reload).
    std::size_t remove_owner(std::string_view owner);

    std::vector<MachineStatus> list() const;
    // The first machine of `owner` and `kind` (and `operation`, when given), e.g. a service's
    // "readiness" health tracker as opposed to its "liveness" one.
    std::optional<MachineStatus> find(std::string_view owner, MachineKind kind,
                                      std::optional<std::string_view> operation = std::nullopt) const;
    std::size_t size() const { return machines_.size(); }

private:
    void add_machine(Machine machine);

    std::vector<Machine> machines_;
};

}  // namespace mainstay::resilience
