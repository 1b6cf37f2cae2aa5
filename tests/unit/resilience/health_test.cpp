#include "resilience/health.hpp"

#include <doctest/doctest.h>

#include "support/fake_clock.hpp"

using namespace mainstay::resilience;
using mainstay::testing::FakeClock;
using namespace std::chrono_literals;

namespace {

HealthParams health_params(std::uint32_t failures = 3, std::uint32_t successes = 1, Duration ttl = 0ms) {
    HealthParams p;
    p.failure_threshold = failures;
    p.success_threshold = successes;
    p.cache_ttl = ttl;
    return p;
}

}  // namespace

TEST_CASE("health starts unknown and needs a probe") {
    FakeClock clock;
    HealthTracker h(health_params());
    CHECK(h.state() == HealthState::unknown);
    CHECK(h.needs_probe(clock.now()));
    CHECK_FALSE(h.cached(clock.now()).has_value());
    CHECK_FALSE(h.next_deadline().has_value());
}

TEST_CASE("health caches the last result within the TTL and refreshes after") {
    FakeClock clock;
    HealthTracker h(health_params(3, 1, 5s));
    const TimePoint probed = clock.now();
    h.record(clock.now(), ProbeStatus::success, "200 OK");
    clock.advance(4999ms);
    CHECK_FALSE(h.needs_probe(clock.now()));
    REQUIRE(h.cached(clock.now()).has_value());
    CHECK(h.cached(clock.now())->detail == "200 OK");
    CHECK(h.cached(clock.now())->at == probed);
    CHECK(h.next_deadline() == probed + 5s);
    clock.advance(1ms);
    CHECK(h.needs_probe(clock.now()));
    CHECK_FALSE(h.cached(clock.now()).has_value());
}

TEST_CASE("force bypasses a fresh cached result") {
    FakeClock clock;
    HealthTracker h(health_params(3, 1, 5s));
    h.record(clock.now(), ProbeStatus::success);
    CHECK_FALSE(h.needs_probe(clock.now()));
    CHECK(h.needs_probe(clock.now(), true));
}

TEST_CASE("a zero TTL never caches") {
    FakeClock clock;
    HealthTracker h(health_params());
    h.record(clock.now(), ProbeStatus::success);
    CHECK(h.needs_probe(clock.now()));
    CHECK(h.last_result().has_value());
}

TEST_CASE("health counts consecutive failures and fires unhealthy once at the threshold") {
    FakeClock clock;
    EventLog log;
    HealthTracker h(health_params(3), {&log, "ollama", "readiness"});
    h.record(clock.now(), ProbeStatus::success);
    REQUIRE(h.state() == HealthState::healthy);
    h.record(clock.now(), ProbeStatus::failure, "connection refused");
    h.record(clock.now(), ProbeStatus::failure, "connection refused");
    CHECK(h.consecutive_failures() == 2);
    CHECK(h.state() == HealthState::healthy);
    CHECK(log.count(EventKind::health_transition, "unhealthy") == 0);
    h.record(clock.now(), ProbeStatus::failure, "connection refused");
    CHECK(h.state() == HealthState::unhealthy);
    h.record(clock.now(), ProbeStatus::failure, "connection refused");
    CHECK(h.consecutive_failures() == 4);
    REQUIRE(log.count(EventKind::health_transition, "unhealthy") == 1);
    CHECK(log.events().back().detail == "connection refused");
    CHECK(log.events().back().operation == "readiness");
}

TEST_CASE("health fires healthy again after success_threshold consecutive successes") {
    FakeClock clock;
    EventLog log;
    HealthTracker h(health_params(1, 2), {&log, "ollama", "readiness"});
    h.record(clock.now(), ProbeStatus::failure);
    REQUIRE(h.state() == HealthState::unhealthy);
    h.record(clock.now(), ProbeStatus::success);
    CHECK(h.state() == HealthState::unhealthy);
    h.record(clock.now(), ProbeStatus::failure);  // breaks the streak
    h.record(clock.now(), ProbeStatus::success);
    CHECK(h.state() == HealthState::unhealthy);
    h.record(clock.now(), ProbeStatus::success);
    CHECK(h.state() == HealthState::healthy);
    CHECK(h.consecutive_successes() == 2);
    CHECK(h.consecutive_failures() == 0);
    CHECK(log.count(EventKind::health_transition, "healthy") == 1);
    CHECK(log.count(EventKind::health_transition, "unhealthy") == 1);
}

TEST_CASE("health leaves unknown only by its thresholds") {
    FakeClock clock;
    HealthTracker h(health_params(3, 2));
    h.record(clock.now(), ProbeStatus::failure);
    h.record(clock.now(), ProbeStatus::failure);
    CHECK(h.state() == HealthState::unknown);
    h.record(clock.now(), ProbeStatus::success);
    CHECK(h.state() == HealthState::unknown);
    h.record(clock.now(), ProbeStatus::success);
    CHECK(h.state() == HealthState::healthy);
}

TEST_CASE("a probe timeout counts as a failure and as a timeout") {
    FakeClock clock;
    EventLog log;
    HealthTracker h(health_params(2), {&log, "ollama", "liveness"});
    h.record(clock.now(), ProbeStatus::timeout);
    h.record(clock.now(), ProbeStatus::timeout, "no answer within 1s");
    CHECK(h.state() == HealthState::unhealthy);
    CHECK(h.consecutive_failures() == 2);
    CHECK(h.total_failures() == 2);
    CHECK(h.timeouts() == 2);
    CHECK(log.count(EventKind::timeout) == 2);
    CHECK(h.last_result()->detail == "no answer within 1s");
    CHECK_FALSE(h.last_result()->ok());
}

TEST_CASE("health reset forgets streaks and the cache and returns to unknown") {
    FakeClock clock;
    EventLog log;
    HealthTracker h(health_params(3, 1, 10s), {&log, "ollama", "readiness"});
    h.record(clock.now(), ProbeStatus::success);
    h.reset(clock.now());
    CHECK(h.state() == HealthState::unknown);
    CHECK(h.needs_probe(clock.now()));
    CHECK(h.consecutive_successes() == 0);
    CHECK(log.count(EventKind::health_transition, "unknown") == 1);
}

TEST_CASE("health thresholds of zero count as one") {
    FakeClock clock;
    EventLog log;
    HealthTracker h(health_params(0, 0), {&log, "ollama", "readiness"});
    CHECK(h.record(clock.now(), ProbeStatus::success) == HealthState::healthy);
    CHECK(h.record(clock.now(), ProbeStatus::failure) == HealthState::unhealthy);
    CHECK(h.record(clock.now(), ProbeStatus::success) == HealthState::healthy);
    CHECK(log.count(EventKind::health_transition) == 3);
}

TEST_CASE("a cache TTL too long to add saturates instead of overflowing") {
    FakeClock clock;
    HealthTracker h(health_params(3, 1, Duration::max()));
    h.record(clock.now(), ProbeStatus::success);
    CHECK(h.next_deadline() == TimePoint::max());
    clock.advance(24h * 365);
    CHECK_FALSE(h.needs_probe(clock.now()));
    CHECK(h.cached(clock.now()).has_value());
}
