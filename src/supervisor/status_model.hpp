// The in-memory status model: a snapshot of the whole, in SPEC §5's terms, for the reporters
// (status table, status file, control socket, HTTP, metrics) to publish.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/schema.hpp"
#include "resilience/capability.hpp"
#include "resilience/clock.hpp"
#include "resilience/health.hpp"
#include "supervisor/state.hpp"

namespace mainstay::supervisor {

using resilience::Duration;
using resilience::TimePoint;
class Supervisor;

struct ProbeStatusEntry {
    ProbeKind kind{ProbeKind::readiness};
    resilience::HealthState health{resilience::HealthState::unknown};
    std::optional<Duration> last_duration;
    std::uint64_t failures{0};  // timeouts included
};

// A service's circuit breaker, with its figures (SPEC §5 "breaker"; `mainstay breakers`). An
// external service's breaker guards its wake command, a process's its restarts.
struct BreakerFigures {
    std::string operation;  // "restart" or "wake"
    std::uint32_t consecutive_failures{0};
    std::uint32_t failure_threshold{0};
    std::uint64_t successes{0};
    std::uint64_t failures{0};
    std::uint64_t rejected{0};  // calls refused while it was open
    std::optional<TimePoint> last_success;
    std::optional<TimePoint> last_failure;
};

struct ServiceStatus {
    std::string name;
    std::string description;
    config::Kind kind{config::Kind::process};
    State state{State::waiting};
    bool ready{false};
    std::optional<int> pid;
    std::uint32_t restarts{0};
    std::uint32_t attempts{0};
    std::string breaker;                            // closed | half-open | open
    std::optional<Duration> breaker_next_trial_in;  // open: time until it lets a trial through
    BreakerFigures breaker_figures;
    std::optional<Duration> next_attempt_in;
    std::optional<ExitStatus> last_exit;
    std::string reason;
    std::vector<std::string> blocked_by;  // required dependencies that are not available
    TimePoint since{};
    std::vector<ProbeStatusEntry> probes;                  // the probes it has
    std::vector<std::pair<std::string, bool>> depends_on;  // (name, required), as configured
    std::string last_output;  // its last captured line (filled by the runtime, which reads it)
    std::string ready_by{};   // where its readiness comes from: config::ready_source
};

// A capability's tier that is better than its active one, and why it is not active.
struct BetterTier {
    std::string name;
    std::string why;
    std::vector<std::string> required;  // its `requires`
};

struct CapabilityStatus {
    std::string name;
    resilience::CapabilityState state{resilience::CapabilityState::degraded};
    TimePoint since{};
    std::string reason;                 // not FULL: the requirement not met, else its failed hook or check
    std::vector<std::string> required;  // its `requires`, in configuration order
    std::string description;
    std::optional<std::string> tier{};     // the active tier (the plain form's: "full"), none on no tier
    std::vector<std::string> tiers{};      // every tier, best first
    bool held{false};                      // by mainstay downgrade, or after a permanent activate failure
    std::optional<std::string> held_at{};  // the tier mainstay downgrade holds it at ("": none)
    std::vector<BetterTier> better{};      // the tiers better than the active one, best first
};

struct StatusModel {
    Mode mode{Mode::starting};
    TimePoint mode_since{};
    bool startup_done{false};
    std::optional<Duration> startup_duration;
    std::vector<ServiceStatus> services;
    std::vector<CapabilityStatus> capabilities;
};

StatusModel snapshot(const Supervisor& supervisor, TimePoint now);

}  // namespace mainstay::supervisor
