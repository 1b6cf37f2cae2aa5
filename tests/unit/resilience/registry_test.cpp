#include <doctest/doctest.h>

#include "resilience/registry.hpp"

using namespace mainstay::resilience;
using namespace std::chrono_literals;

TEST_CASE("registry lists every machine with its state, sorted by owner") {
    FakeClock clock;
    SeededRandom rng(1);
    CircuitBreakerParams bp;
    bp.failure_threshold = 1;
    CircuitBreaker breaker(bp, {nullptr, "docker", {}});
    BackgroundRecovery recovery(BackoffParams{}, RecoveryParams{}, rng, {nullptr, "docker", {}});
    CapabilityParams cp;
    cp.backoff.jitter = Jitter::none;
    cp.backoff.initial = 2s;
    CapabilityUpgrade capability(cp, rng, {nullptr, "local-llm", {}});
    HealthParams hp;
    hp.cache_ttl = 5s;
    HealthTracker health(hp, {nullptr, "ollama", "readiness"});

    Registry registry;
    registry.add(capability);
    registry.add(health);
    registry.add(recovery);
    registry.add(breaker);
    registry.add(breaker);  // twice: listed once
    CHECK(registry.size() == 4);

    REQUIRE(breaker.allow_request(clock.now()));
    breaker.on_failure(clock.now(), "boom");
    recovery.start(clock.now(), "executable not found: dockerd");
    capability.start(clock.now());
    REQUIRE(capability.take_action(clock.now()) == CapabilityAction::check_availability);
    capability.on_availability(clock.now(), true);
    REQUIRE(capability.take_action(clock.now()) == CapabilityAction::activate);
    capability.on_activate_result(clock.now(), false, "exit code 2");
    health.record(clock.now(), ProbeStatus::failure, "connect: connection refused");

    const auto all = registry.list();
    REQUIRE(all.size() == 4);
    CHECK(all[0].owner == "docker");
    CHECK(all[0].kind == MachineKind::breaker);
    CHECK(all[0].state == "open");
    CHECK(all[0].next_deadline == clock.now() + bp.recovery_timeout);
    CHECK(all[1].owner == "docker");
    CHECK(all[1].kind == MachineKind::recovery);
    CHECK(all[1].state == "recovering");
    CHECK(all[1].detail == "executable not found: dockerd");
    CHECK(all[0].attempts == 1);  // consecutive failures
    CHECK(all[1].attempts == 0);
    CHECK(all[1].next_deadline == recovery.next_deadline());
    CHECK(all[2].owner == "local-llm");
    CHECK(all[2].kind == MachineKind::capability);
    CHECK(all[2].state == "degraded");
    CHECK(all[2].attempts == 1);  // failed activations
    CHECK(all[2].detail == "exit code 2");
    CHECK(all[2].next_deadline == clock.now() + 2s);  // the backoff before the next check
    CHECK(all[3].owner == "ollama");
    CHECK(all[3].kind == MachineKind::health);
    CHECK(all[3].state == "unknown");  // one failure of three
    CHECK(all[3].attempts == 1);       // consecutive failures
    CHECK(all[3].detail == "connect: connection refused");
    CHECK(all[3].next_deadline == clock.now() + 5s);  // when the cached result expires
}

TEST_CASE("registry finds a machine by owner and kind and forgets removed ones") {
    SeededRandom rng(1);
    CircuitBreaker a(CircuitBreakerParams{}, {nullptr, "a", {}});
    CircuitBreaker b(CircuitBreakerParams{}, {nullptr, "b", {}});
    BackgroundRecovery rb(BackoffParams{}, RecoveryParams{}, rng, {nullptr, "b", {}});
    Registry registry;
    registry.add(a);
    registry.add(b);
    registry.add(rb);
    REQUIRE(registry.find("a", MachineKind::breaker).has_value());
    CHECK(registry.find("a", MachineKind::breaker)->state == "closed");
    CHECK_FALSE(registry.find("a", MachineKind::recovery).has_value());

    CHECK(registry.remove(&a));
    CHECK_FALSE(registry.remove(&a));
    CHECK_FALSE(registry.find("a", MachineKind::breaker).has_value());
    CHECK(registry.remove_owner("b") == 2);
    CHECK(registry.size() == 0);
}

TEST_CASE("registry tells a service's readiness and liveness trackers apart by operation") {
    FakeClock clock;
    HealthParams hp;
    hp.failure_threshold = 1;
    HealthTracker readiness(hp, {nullptr, "ollama", "readiness"});
    HealthTracker liveness(hp, {nullptr, "ollama", "liveness"});
    CircuitBreaker breaker(CircuitBreakerParams{}, {nullptr, "ollama", {}});
    Registry registry;
    registry.add(readiness);
    registry.add(liveness);
    registry.add(breaker);
    readiness.record(clock.now(), ProbeStatus::failure, "503");
    liveness.record(clock.now(), ProbeStatus::success);

    const auto all = registry.list();
    REQUIRE(all.size() == 3);
    CHECK(all[0].kind == MachineKind::breaker);
    CHECK(all[0].operation.empty());
    CHECK(all[1].operation == "liveness");  // sorted by owner, kind, then operation
    CHECK(all[1].state == "healthy");
    CHECK(all[2].operation == "readiness");
    CHECK(all[2].state == "unhealthy");

    const auto live = registry.find("ollama", MachineKind::health, "liveness");
    REQUIRE(live.has_value());
    CHECK(live->state == "healthy");
    const auto ready = registry.find("ollama", MachineKind::health, "readiness");
    REQUIRE(ready.has_value());
    CHECK(ready->state == "unhealthy");
    CHECK(ready->detail == "503");
    CHECK_FALSE(registry.find("ollama", MachineKind::health, "startup").has_value());
    REQUIRE(registry.find("ollama", MachineKind::health).has_value());  // any operation
    CHECK(registry.find("ollama", MachineKind::breaker, "").has_value());
}
