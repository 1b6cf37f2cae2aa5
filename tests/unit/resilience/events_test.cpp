#include "resilience/events.hpp"

#include <doctest/doctest.h>

using namespace mainstay::resilience;

TEST_CASE("an event source stamps owner and operation on every event") {
    EventLog log;
    const EventSource source{&log, "docker", "wake"};
    const TimePoint at = TimePoint{} + std::chrono::seconds(5);
    source.emit(EventKind::breaker_transition, at, "closed", "open", "connection refused");
    REQUIRE(log.size() == 1);
    const Event& e = log.events()[0];
    CHECK(e.kind == EventKind::breaker_transition);
    CHECK(e.owner == "docker");
    CHECK(e.operation == "wake");
    CHECK(e.from == "closed");
    CHECK(e.to == "open");
    CHECK(e.detail == "connection refused");
    CHECK(e.at == at);
}

TEST_CASE("the event log counts by kind and by target state") {
    EventLog log;
    const EventSource source{&log, "x", {}};
    source.emit(EventKind::health_transition, {}, "unknown", "healthy");
    source.emit(EventKind::health_transition, {}, "healthy", "unhealthy");
    source.emit(EventKind::health_transition, {}, "unhealthy", "healthy");
    source.emit(EventKind::timeout, {});
    CHECK(log.count(EventKind::health_transition) == 3);
    CHECK(log.count(EventKind::health_transition, "healthy") == 2);
    CHECK(log.count(EventKind::timeout) == 1);
    CHECK(log.count(EventKind::retry_exhausted) == 0);
    log.clear();
    CHECK(log.size() == 0);
}

TEST_CASE("a callback sink forwards each event and a null sink drops them") {
    int calls = 0;
    CallbackSink sink([&](const Event& e) {
        ++calls;
        CHECK(e.kind == EventKind::recovery_paused);
    });
    EventSource{&sink, "a", {}}.emit(EventKind::recovery_paused, {});
    EventSource{nullptr, "a", {}}.emit(EventKind::recovery_paused, {});
    CHECK(calls == 1);
    CHECK(to_string(EventKind::capability_transition) == "capability_transition");
}
