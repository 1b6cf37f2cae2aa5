// HealthTracker: the verdict of a probe over time, without doing the probing.
//
// The runtime runs the probe (exec, tcp, http) and records each result here. The tracker counts
// consecutive successes and failures; it becomes UNHEALTHY after `failure_threshold`
// consecutive failures and HEALTHY after `success_threshold` consecutive successes (a threshold
// of 0 counts as 1). It starts UNKNOWN (no verdict yet) and leaves UNKNOWN by the same
// thresholds, so a service is never called healthy or unhealthy on less evidence than its
// thresholds ask. A timeout is a failure
// and is also counted on its own (and emits a timeout event). The last result is cached for
// `cache_ttl`: needs_probe(now) is false while it is fresh, unless `force` is set. Each change
// of state emits one health_transition event (to: healthy, unhealthy; unknown after reset()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "resilience/clock.hpp"
#include "resilience/events.hpp"
#include "resilience/params.hpp"

namespace mainstay::resilience {

enum class HealthState { unknown, healthy, unhealthy };
std::string_view to_string(HealthState state);

// permanent_failure: a failure retrying cannot fix (an HTTP status in `permanent_status`); a
// health tracker counts it as a failure, the service becomes `failed`.
enum class ProbeStatus { success, failure, timeout, permanent_failure };
std::string_view to_string(ProbeStatus status);

struct ProbeResult {
    ProbeStatus status{ProbeStatus::success};
    std::string detail;  // e.g. "connect: connection refused"
    TimePoint at{};
    bool ok() const { return status == ProbeStatus::success; }
};

class HealthTracker {
public:
    explicit HealthTracker(HealthParams params, EventSource source = {});

    // True when a probe should run now: no result younger than `cache_ttl`, or `force`.
    bool needs_probe(TimePoint now, bool force = false) const;
    // The last result while it is younger than `cache_ttl`.
    std::optional<ProbeResult> cached(TimePoint now) const;
    // Records a probe result taken at `now`; returns the (possibly new) state.
    HealthState record(TimePoint now, ProbeStatus status, std::string detail = {});
    // Forgets the streaks and the cached result (e.g. the service restarted): back to UNKNOWN.
    void reset(TimePoint now);

    HealthState state() const { return state_; }
    // When the cached result expires; none when nothing is cached.
    std::optional<TimePoint> next_deadline() const;
    std::uint32_t consecutive_failures() const { return consecutive_failures_; }
    std::uint32_t consecutive_successes() const { return consecutive_successes_; }
    std::uint64_t total_failures() const { return total_failures_; }  // timeouts included
    std::uint64_t timeouts() const { return timeouts_; }
    const std::optional<ProbeResult>& last_result() const { return last_; }
    const HealthParams& params() const { return params_; }
    const std::string& owner() const { return source_.owner; }
    const std::string& operation() const { return source_.operation; }

private:
    void transition(HealthState to, TimePoint now, std::string_view detail);

    HealthParams params_;
    EventSource source_;
    HealthState state_{HealthState::unknown};
    std::uint32_t consecutive_failures_{0};
    std::uint32_t consecutive_successes_{0};
    std::uint64_t total_failures_{0};
    std::uint64_t timeouts_{0};
    std::optional<ProbeResult> last_;
};

}  // namespace mainstay::resilience
