// The probes of one service (startup, readiness, liveness) with Kubernetes semantics.
//
// The startup probe, when there is one, runs first and alone; readiness and liveness start once
// it has passed. Before a probe's first success it runs at `startup_interval` (default: 100 ms,
// doubling up to `interval`), then every `interval`. Each probe's results feed its own health
// tracker (thresholds from the spec), and a change of verdict is returned to the Service,
// which decides: ready/unhealthy, or a restart. The probes themselves run in the World.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/schema.hpp"
#include "resilience/events.hpp"
#include "resilience/health.hpp"
#include "supervisor/world.hpp"

namespace mainstay::supervisor {

enum class ProbeChange { none, startup_passed, startup_failed, ready, unready, liveness_failed };

class ProbeSet {
public:
    ProbeSet(const config::ProbesSpec& spec, const std::string& owner, resilience::EventSink* events);

    bool has(ProbeKind kind) const { return find(kind) != nullptr; }
    // The probe `kind` as configured; nullptr when the service has none.
    const config::ProbeSpec* spec(ProbeKind kind) const { return has(kind) ? find(kind)->spec : nullptr; }
    bool startup_passed() const { return startup_passed_; }
    resilience::HealthState readiness() const { return tracker(ProbeKind::readiness).state(); }
    // The health of `kind`; for a probe the service does not have, a tracker that never ran.
    const resilience::HealthTracker& tracker(ProbeKind kind) const;
    // How long the last finished attempt of `kind` took (start to result).
    std::optional<Duration> last_duration(ProbeKind kind) const {
        return has(kind) ? find(kind)->last_duration : std::nullopt;
    }

    // The process (or, for an external service, the watch) began: schedule the first probes.
    void begin(TimePoint now);
    // It ended: cancel what runs, schedule nothing.
    void end(World& world, Id id);
    // The readiness probe is due now (something changed: an external service was just woken),
    // then runs at the fast startup cadence until it passes or `fast_until` (SPEC §3).
    void recheck(TimePoint now, TimePoint fast_until);
    // Starts every probe that is due.
    void on_timer(World& world, Id id);
    ProbeChange on_result(TimePoint now, ProbeKind kind, resilience::ProbeStatus status, const std::string& detail);
    std::optional<TimePoint> next_deadline() const;

private:
    struct Slot {
        Slot(const config::ProbeSpec& probe, const std::string& owner, const char* operation,
             resilience::EventSink* events)
            : spec(&probe),
              tracker(probe.thresholds, {events, owner, operation}),
              fast_until_success(std::string_view(operation) != "liveness") {}
        const config::ProbeSpec* spec;
        resilience::HealthTracker tracker;
        std::optional<TimePoint> next_at;
        bool running{false};
        bool succeeded_once{false};
        bool fast_until_success;              // startup and readiness; liveness keeps its interval (SPEC §3)
        std::optional<TimePoint> fast_until;  // after a wake: fast again until a success or then
        Duration fast_interval{0};
        TimePoint started_at{};
        std::optional<Duration> last_duration;
    };
    // nullptr for a probe the service does not have.
    Slot* find(ProbeKind kind) { return slots_[static_cast<std::size_t>(kind)].get(); }
    const Slot* find(ProbeKind kind) const { return slots_[static_cast<std::size_t>(kind)].get(); }
    void schedule_first(Slot* s, TimePoint now);
    void schedule_next(Slot& s, TimePoint now);

    // Only the probes the service has take memory (a Slot is about 250 bytes; most services have
    // no probe at all).
    std::array<std::unique_ptr<Slot>, 3> slots_;
    bool startup_passed_{false};
    bool active_{false};
};

}  // namespace mainstay::supervisor
