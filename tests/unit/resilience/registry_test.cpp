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
    CapabilityUpgrade capability(CapabilityParams{}, rng, {nullptr, "local-llm", {}});
    HealthTracker health(HealthParams{}, {nullptr, "ollama", "readiness"});

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
    CHECK(all[2].owner == "local-llm");
    CHECK(all[2].state == "degraded");
    CHECK(all[3].owner == "ollama");
    CHECK(all[3].kind == MachineKind::health);
    CHECK(all[3].state == "unknown");
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
