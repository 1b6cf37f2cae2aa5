// Prometheus metrics (SPEC §6, GET /metrics): counters fed by the resilience events, gauges read
// from the status model, rendered in the text exposition format (version 0.0.4).
//
// MetricsCounters is an EventSink: hand it to the Supervisor (alone or behind a fan-out sink)
// and it counts, per event:
//   breaker_transition  -> mainstay_circuit_breaker_transitions_total{service, to}
//   retry_attempt       -> mainstay_retry_attempts_total{service}   a wake that failed is retried
//   recovery_attempt    -> mainstay_retry_attempts_total{service}   a restart attempt begins
//   retry_exhausted     -> mainstay_retry_exhausted_total{service}  a wake's retries ran out
//   recovery_paused     -> mainstay_retry_exhausted_total{service}  the safety valve stopped restarts
//   timeout             -> mainstay_timeouts_total{service, operation}  (operation: the probe
//                          kind "startup" | "readiness" | "liveness", or "wake")
//   health_transition   -> mainstay_health_transitions_total{service, to}
//   every event         -> mainstay_events_total{kind}
// Both attempt kinds count as retries because each is one more try of a service that failed
// (the first start is not a recovery_attempt); both exhaustion kinds because each means the
// service gave up retrying on its own and waits for a person or an event.
//
// Restarts, probe failures and durations, states and next attempts come from the model, and
// output drops from the output writers (OutputDrop), so they are not counted twice here.
//
// Rendering: every family of SPEC §6 has its `# HELP` and `# TYPE` exactly once, before its
// samples, even when it has none. State families are one gauge sample per possible state, 1
// for the current one and 0 for the others (mainstay_mode{mode}, mainstay_service_state
// {service,state}, mainstay_capability_state{capability,state}), so `== 1` selects and a
// change shows as a series going to 0. mainstay_circuit_breaker_state is 0 closed, 1
// half-open, 2 open. Durations are in seconds. Counters known to exist (per service, per
// breaker or health target, per event kind) start at 0 rather than appearing on their first
// increment. Label values are escaped (\\, \", \n).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/format.hpp"
#include "resilience/events.hpp"
#include "supervisor/status_model.hpp"

namespace mainstay::report {

class MetricsCounters final : public resilience::EventSink {
public:
    using Pair = std::pair<std::string, std::string>;

    void on_event(const resilience::Event& event) override;

    std::uint64_t breaker_transitions(const std::string& service, const std::string& to) const;
    std::uint64_t retry_attempts(const std::string& service) const;
    std::uint64_t retry_exhausted(const std::string& service) const;
    std::uint64_t timeouts(const std::string& service, const std::string& operation) const;
    std::uint64_t health_transitions(const std::string& service, const std::string& to) const;
    std::uint64_t events(resilience::EventKind kind) const;

    // For rendering: the counts by label values, in label order.
    const std::map<Pair, std::uint64_t>& breaker_transitions() const { return breaker_transitions_; }
    const std::map<std::string, std::uint64_t>& retry_attempts() const { return retry_attempts_; }
    const std::map<std::string, std::uint64_t>& retry_exhausted() const { return retry_exhausted_; }
    const std::map<Pair, std::uint64_t>& timeouts() const { return timeouts_; }
    const std::map<Pair, std::uint64_t>& health_transitions() const { return health_transitions_; }
    const std::map<resilience::EventKind, std::uint64_t>& events() const { return events_; }

private:
    std::map<Pair, std::uint64_t> breaker_transitions_;
    std::map<std::string, std::uint64_t> retry_attempts_;
    std::map<std::string, std::uint64_t> retry_exhausted_;
    std::map<Pair, std::uint64_t> timeouts_;
    std::map<Pair, std::uint64_t> health_transitions_;
    std::map<resilience::EventKind, std::uint64_t> events_;
};

// Lines of one service's output dropped rather than stalling (SPEC §4), per sink ("console" or
// "file"), as the output writers count them.
struct OutputDrop {
    std::string service;
    std::string sink;
    std::uint64_t lines{0};
};

// The whole exposition. `now`: while the startup phase runs, mainstay_startup_duration_seconds
// is the time it has taken so far (from the model's mode_since, which is the start then).
std::string render_prometheus(const supervisor::StatusModel& model, const MetricsCounters& counters,
                              const std::vector<OutputDrop>& drops, TimePoint now);

// A label value escaped for the text format: backslash, double quote and newline.
std::string escape_label(std::string_view value);

}  // namespace mainstay::report
