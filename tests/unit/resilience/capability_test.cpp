#include "resilience/capability.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/fake_clock.hpp"

using namespace mainstay::resilience;
using mainstay::testing::FakeClock;
using namespace std::chrono_literals;

namespace {

CapabilityParams cap_params() {
    CapabilityParams p;
    p.monitor_interval = 10s;
    p.backoff.initial = 1s;
    p.backoff.max = 1min;
    p.backoff.multiplier = 2.0;
    p.backoff.jitter = Jitter::none;
    return p;
}

// Brings a started capability to FULL at the clock's time.
void upgrade(CapabilityUpgrade& c, FakeClock& clock) {
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), true);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::activate);
    c.on_activate_result(clock.now(), true);
    REQUIRE(c.state() == CapabilityState::full);
}

}  // namespace

TEST_CASE("capability starts degraded and checks availability once started") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.take_action(clock.now()) == CapabilityAction::none);
    CHECK_FALSE(c.next_deadline().has_value());
    c.start(clock.now());
    CHECK(c.next_deadline() == clock.now());
    CHECK(c.take_action(clock.now()) == CapabilityAction::check_availability);
    CHECK(c.running() == CapabilityAction::check_availability);
    CHECK(c.take_action(clock.now()) == CapabilityAction::none);  // already running
    CHECK_FALSE(c.next_deadline().has_value());
}

TEST_CASE("an available capability upgrades through upgrading to full") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    CapabilityUpgrade c(cap_params(), rng, {&log, "local-llm", {}});
    c.start(clock.now());
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), true);
    CHECK(c.state() == CapabilityState::upgrading);
    CHECK(c.take_action(clock.now()) == CapabilityAction::activate);
    c.on_activate_result(clock.now(), true);
    CHECK(c.state() == CapabilityState::full);
    CHECK(c.next_deadline() == clock.now() + 10s);  // monitored
    CHECK(log.count(EventKind::capability_transition, "upgrading") == 1);
    CHECK(log.count(EventKind::capability_transition, "full") == 1);
}

TEST_CASE("an unavailable capability stays degraded and checks again after monitor_interval") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    CapabilityUpgrade c(cap_params(), rng, {&log, "local-llm", {}});
    c.start(clock.now());
    for (int i = 0; i < 3; ++i) {
        REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
        c.on_availability(clock.now(), false, "ollama not ready");
        CHECK(c.state() == CapabilityState::degraded);
        CHECK(c.next_deadline() == clock.now() + 10s);
        CHECK(c.take_action(clock.now()) == CapabilityAction::none);
        clock.advance(10s);
    }
    CHECK(log.size() == 0);
}

TEST_CASE("full capability stays full while checks pass and downgrades on regression") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    CapabilityUpgrade c(cap_params(), rng, {&log, "local-llm", {}});
    c.start(clock.now());
    upgrade(c, clock);
    clock.advance(10s);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), true);
    CHECK(c.state() == CapabilityState::full);
    clock.advance(10s);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), false, "body does not contain llama");
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.take_action(clock.now()) == CapabilityAction::deactivate);
    c.on_deactivate_result(clock.now(), true);
    CHECK(c.next_deadline() == clock.now() + 10s);
    REQUIRE(log.count(EventKind::capability_transition, "degraded") == 1);
    CHECK(log.events().back().from == "full");
    CHECK(log.events().back().detail == "body does not contain llama");
}

TEST_CASE("the supervisor can report a regression unasked") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.start(clock.now());
    upgrade(c, clock);
    clock.advance(3s);
    c.on_availability(clock.now(), false, "required service ollama is not ready");
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.take_action(clock.now()) == CapabilityAction::deactivate);
}

TEST_CASE("a failed activation returns to degraded and retries with backoff") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    CapabilityUpgrade c(cap_params(), rng, {&log, "local-llm", {}});
    c.start(clock.now());
    for (Duration expected : {1s, 2s, 4s}) {
        REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
        c.on_availability(clock.now(), true);
        REQUIRE(c.take_action(clock.now()) == CapabilityAction::activate);
        c.on_activate_result(clock.now(), false, "exit code 2");
        CHECK(c.state() == CapabilityState::degraded);
        CHECK(c.next_deadline() == clock.now() + expected);
        clock.advance(expected);
    }
    CHECK(c.activation_failures() == 3);
    CHECK(c.last_error() == "exit code 2");
    CHECK(log.count(EventKind::capability_hook_failed) == 3);
    upgrade(c, clock);  // works at last
    CHECK(c.last_error().empty());

    // After a regression, the next failed activation waits the first delay again.
    c.on_availability(clock.now(), false);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::deactivate);
    c.on_deactivate_result(clock.now(), true);
    c.conditions_changed(clock.now());
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), true);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::activate);
    c.on_activate_result(clock.now(), false, "exit code 2");
    CHECK(c.next_deadline() == clock.now() + 1s);
}

TEST_CASE("a failed deactivate is reported and the capability stays degraded") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    CapabilityUpgrade c(cap_params(), rng, {&log, "local-llm", {}});
    c.start(clock.now());
    upgrade(c, clock);
    c.on_availability(clock.now(), false);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::deactivate);
    c.on_deactivate_result(clock.now(), false, "exit code 1");
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.last_error() == "exit code 1");
    REQUIRE(log.count(EventKind::capability_hook_failed) == 1);
    CHECK(log.events().back().detail == "deactivate: exit code 1");
    CHECK(c.next_deadline() == clock.now() + 10s);
}

TEST_CASE("capability callbacks fire once per transition") {
    FakeClock clock;
    SeededRandom rng(1);
    std::vector<std::string> transitions;
    CallbackSink sink([&](const Event& e) {
        if (e.kind == EventKind::capability_transition) transitions.push_back(e.from + "->" + e.to);
    });
    CapabilityUpgrade c(cap_params(), rng, {&sink, "local-llm", {}});
    c.start(clock.now());
    upgrade(c, clock);
    c.on_availability(clock.now(), false);
    c.on_availability(clock.now(), false);  // a deactivate is pending, still degraded: nothing new
    CHECK(c.take_action(clock.now()) == CapabilityAction::deactivate);
    CHECK(transitions == std::vector<std::string>{"degraded->upgrading", "upgrading->full", "full->degraded"});
}

TEST_CASE("a change of conditions makes a pending availability check due at once") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.start(clock.now());
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), false);
    clock.advance(2s);
    c.conditions_changed(clock.now());
    CHECK(c.next_deadline() == clock.now());
    CHECK(c.take_action(clock.now()) == CapabilityAction::check_availability);
}

TEST_CASE("hook results out of turn are ignored") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.start(clock.now());
    c.on_activate_result(clock.now(), true);
    c.on_deactivate_result(clock.now(), true);
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.pending() == CapabilityAction::check_availability);
}

// Review finding 1: an unasked availability report never drops a pending or running hook.

TEST_CASE("an unasked report while activate is pending does not replace it") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.start(clock.now());
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), true);
    REQUIRE(c.state() == CapabilityState::upgrading);
    REQUIRE(c.pending() == CapabilityAction::activate);
    c.on_availability(clock.now(), true, "required service ollama is ready");  // unasked
    CHECK(c.state() == CapabilityState::upgrading);
    CHECK(c.pending() == CapabilityAction::activate);
    CHECK(c.next_deadline() == clock.now());
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::activate);
    c.on_activate_result(clock.now(), true);
    CHECK(c.state() == CapabilityState::full);
}

TEST_CASE("a second unasked regression report keeps the pending deactivate") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.start(clock.now());
    upgrade(c, clock);
    clock.advance(1s);
    c.on_availability(clock.now(), false, "ollama not ready");
    clock.advance(1s);
    c.on_availability(clock.now(), false, "ollama still not ready");
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.pending() == CapabilityAction::deactivate);
    CHECK(c.take_action(clock.now()) == CapabilityAction::deactivate);
}

TEST_CASE("a late check result after an unasked regression does not skip deactivate") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.start(clock.now());
    upgrade(c, clock);
    clock.advance(10s);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);  // running
    c.on_availability(clock.now(), false, "ollama not ready");                    // unasked, while the check runs
    REQUIRE(c.state() == CapabilityState::degraded);
    c.on_availability(clock.now(), true);  // the check's own (now stale) result
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.pending() == CapabilityAction::deactivate);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::deactivate);
    c.on_deactivate_result(clock.now(), true);
    // The last report said available: check again at once rather than after monitor_interval.
    CHECK(c.next_deadline() == clock.now());
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), true);
    CHECK(c.state() == CapabilityState::upgrading);
    CHECK(c.take_action(clock.now()) == CapabilityAction::activate);
}

TEST_CASE("availability coming back while deactivate runs is checked right after it") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.start(clock.now());
    upgrade(c, clock);
    c.on_availability(clock.now(), false);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::deactivate);
    c.on_availability(clock.now(), true);  // unasked, while deactivate runs
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.running() == CapabilityAction::deactivate);
    CHECK(c.take_action(clock.now()) == CapabilityAction::none);
    clock.advance(2s);
    c.on_deactivate_result(clock.now(), true);
    CHECK(c.next_deadline() == clock.now());
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), true);
    CHECK(c.take_action(clock.now()) == CapabilityAction::activate);
}

TEST_CASE("a regression reported while activate runs is checked right after it") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.start(clock.now());
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), true);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::activate);
    c.on_availability(clock.now(), false, "ollama not ready");  // unasked, while activate runs
    CHECK(c.state() == CapabilityState::upgrading);
    CHECK(c.running() == CapabilityAction::activate);
    c.on_activate_result(clock.now(), true);
    CHECK(c.state() == CapabilityState::full);
    CHECK(c.next_deadline() == clock.now());  // re-check at once, not after monitor_interval
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.on_availability(clock.now(), false);
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.take_action(clock.now()) == CapabilityAction::deactivate);
}

TEST_CASE("a monitor interval too long to add saturates instead of overflowing") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityParams p = cap_params();
    p.monitor_interval = Duration::max();
    CapabilityUpgrade c(p, rng);
    c.start(clock.now());
    upgrade(c, clock);
    CHECK(c.next_deadline() == TimePoint::max());
}

TEST_CASE("an unasked report while a check runs does not complete the check") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.start(clock.now());
    upgrade(c, clock);
    clock.advance(10s);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.report_availability(clock.now(), false, "ollama not ready");
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.running() == CapabilityAction::check_availability);  // still awaited
    CHECK(c.pending() == CapabilityAction::deactivate);
    CHECK(c.take_action(clock.now()) == CapabilityAction::none);  // one action at a time
    c.on_availability(clock.now(), true);                         // the check's result: after the deactivate
    CHECK(c.state() == CapabilityState::degraded);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::deactivate);
    c.on_deactivate_result(clock.now(), true);
    CHECK(c.next_deadline() == clock.now());
}

TEST_CASE("an unasked report that changes nothing leaves a running check alone") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.start(clock.now());
    upgrade(c, clock);
    clock.advance(10s);
    REQUIRE(c.take_action(clock.now()) == CapabilityAction::check_availability);
    c.report_availability(clock.now(), true);
    CHECK(c.running() == CapabilityAction::check_availability);
    c.on_availability(clock.now(), false);  // the check's own result still counts
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.take_action(clock.now()) == CapabilityAction::deactivate);
}

TEST_CASE("an unasked report before start is ignored") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade c(cap_params(), rng);
    c.report_availability(clock.now(), true);
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.pending() == CapabilityAction::none);
}

TEST_CASE("a permanent activate failure holds the machine degraded: no check, no activate, until release") {
    FakeClock clock;
    SeededRandom rng(1);
    CapabilityUpgrade m(cap_params(), rng);
    m.start(clock.now());
    REQUIRE(m.take_action(clock.now()) == CapabilityAction::check_availability);
    m.on_availability(clock.now(), true);
    REQUIRE(m.take_action(clock.now()) == CapabilityAction::activate);
    m.on_activate_result(clock.now(), false, "exited with code 77", true);
    CHECK(m.state() == CapabilityState::degraded);
    CHECK(m.held());
    CHECK_FALSE(m.next_deadline().has_value());
    m.report_availability(clock.now(), true);  // still available: held all the same
    CHECK(m.state() == CapabilityState::degraded);
    CHECK(m.take_action(clock.now() + 1h) == CapabilityAction::none);
    m.release(clock.now());
    CHECK_FALSE(m.held());
    CHECK(m.take_action(clock.now()) == CapabilityAction::check_availability);
}
