#include "resilience/recovery.hpp"

#include <doctest/doctest.h>

#include "support/fake_clock.hpp"

using namespace mainstay::resilience;
using mainstay::testing::FakeClock;
using namespace std::chrono_literals;

namespace {

BackoffParams fixed_backoff() {
    BackoffParams p;
    p.initial = 1s;
    p.max = 8s;
    p.multiplier = 2.0;
    p.jitter = Jitter::none;
    return p;
}

RecoveryParams valve(std::uint32_t max_attempts = 0, Duration max_total_time = 0ms, double wake_fraction = 0.0) {
    RecoveryParams p;
    p.max_attempts = max_attempts;
    p.max_total_time = max_total_time;
    p.wake_fraction = wake_fraction;
    return p;
}

// Advances to the next attempt, runs it with the given result; returns the attempt number.
std::uint32_t attempt(BackgroundRecovery& r, FakeClock& clock, bool ok) {
    REQUIRE(r.next_deadline().has_value());
    clock.advance_to(*r.next_deadline());
    const auto n = r.begin_attempt(clock.now());
    REQUIRE(n.has_value());
    r.on_attempt_result(clock.now(), ok, ok ? "" : "exit code 1");
    return *n;
}

}  // namespace

TEST_CASE("recovery is idle until started and then waits one backoff delay") {
    FakeClock clock;
    SeededRandom rng(1);
    BackgroundRecovery r(fixed_backoff(), valve(), rng);
    CHECK(r.state() == RecoveryState::idle);
    CHECK_FALSE(r.next_deadline().has_value());
    CHECK_FALSE(r.begin_attempt(clock.now()).has_value());
    r.start(clock.now(), "executable not found: dockerd");
    CHECK(r.state() == RecoveryState::recovering);
    CHECK(r.next_deadline() == clock.now() + 1s);
    CHECK(r.last_error() == "executable not found: dockerd");
    CHECK_FALSE(r.begin_attempt(clock.now() + 999ms).has_value());
}

TEST_CASE("recovery retries with backoff until an attempt succeeds") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    BackgroundRecovery r(fixed_backoff(), valve(), rng, {&log, "docker", {}});
    const TimePoint start = clock.now();
    r.start(clock.now());
    CHECK(attempt(r, clock, false) == 1);  // at 1 s
    CHECK(r.next_deadline() == start + 3s);
    CHECK(attempt(r, clock, false) == 2);  // at 3 s
    CHECK(r.next_deadline() == start + 7s);
    CHECK(r.last_error() == "exit code 1");
    CHECK(attempt(r, clock, true) == 3);  // at 7 s
    CHECK(r.state() == RecoveryState::succeeded);
    CHECK(r.attempts() == 3);
    CHECK_FALSE(r.next_deadline().has_value());
    CHECK(log.count(EventKind::recovery_attempt) == 3);
}

TEST_CASE("recovery reports success once") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    BackgroundRecovery r(fixed_backoff(), valve(), rng, {&log, "docker", {}});
    r.start(clock.now());
    attempt(r, clock, true);
    CHECK(r.on_attempt_result(clock.now(), true) == RecoveryState::succeeded);
    CHECK(r.on_attempt_result(clock.now(), false, "late") == RecoveryState::succeeded);
    CHECK(log.count(EventKind::recovery_succeeded) == 1);
    CHECK(r.last_error().empty());
}

TEST_CASE("no attempt starts while one is already running") {
    FakeClock clock;
    SeededRandom rng(1);
    BackgroundRecovery r(fixed_backoff(), valve(), rng);
    r.start(clock.now());
    clock.advance(1s);
    REQUIRE(r.begin_attempt(clock.now()) == 1u);
    CHECK(r.attempt_running());
    CHECK_FALSE(r.next_deadline().has_value());
    CHECK_FALSE(r.begin_attempt(clock.now()).has_value());
}

TEST_CASE("recovery pauses when max_attempts attempts have failed") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    BackgroundRecovery r(fixed_backoff(), valve(3), rng, {&log, "docker", {}});
    r.start(clock.now());
    attempt(r, clock, false);
    attempt(r, clock, false);
    CHECK(r.state() == RecoveryState::recovering);
    attempt(r, clock, false);
    CHECK(r.state() == RecoveryState::paused);
    CHECK(r.attempts() == 3);
    CHECK_FALSE(r.next_deadline().has_value());
    CHECK(r.pause_reason() == "gave up after 3 attempts");
    REQUIRE(log.count(EventKind::recovery_paused) == 1);
    CHECK(log.events().back().detail == "gave up after 3 attempts: exit code 1");
    clock.advance(1h);
    CHECK_FALSE(r.begin_attempt(clock.now()).has_value());
}

TEST_CASE("recovery pauses when max_total_time has passed, and never attempts past it") {
    FakeClock clock;
    SeededRandom rng(1);
    BackgroundRecovery r(fixed_backoff(), valve(0, 5s), rng);
    const TimePoint start = clock.now();
    r.start(clock.now());
    attempt(r, clock, false);  // at 1 s
    attempt(r, clock, false);  // at 3 s
    CHECK(r.state() == RecoveryState::recovering);
    // The backoff says 7 s, past the 5 s budget: the last attempt comes at the budget's end.
    CHECK(r.next_deadline() == start + 5s);
    CHECK(attempt(r, clock, false) == 3);
    CHECK(clock.now() == start + 5s);
    CHECK(r.state() == RecoveryState::paused);
    CHECK(r.pause_reason() == "gave up after 5000ms");
    CHECK_FALSE(r.next_deadline().has_value());
}

TEST_CASE("a first delay longer than max_total_time is cut to the budget") {
    FakeClock clock;
    SeededRandom rng(1);
    BackoffParams slow = fixed_backoff();
    slow.initial = 10s;
    slow.max = 10s;
    BackgroundRecovery r(slow, valve(0, 5s), rng);
    r.start(clock.now());
    CHECK(r.next_deadline() == clock.now() + 5s);
}

TEST_CASE("an attempt postponed past max_total_time does not start, the valve trips") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    BackgroundRecovery r(fixed_backoff(), valve(0, 5s), rng, {&log, "docker", {}});
    r.start(clock.now());
    r.postpone(clock.now() + 30s);  // the breaker stays open past the budget
    clock.advance(30s);
    CHECK_FALSE(r.begin_attempt(clock.now()).has_value());
    CHECK(r.state() == RecoveryState::paused);
    CHECK(r.attempts() == 0);
    CHECK(log.count(EventKind::recovery_attempt) == 0);
    CHECK(log.count(EventKind::recovery_paused) == 1);
}

TEST_CASE("resume acts only on a paused recovery") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    BackgroundRecovery r(fixed_backoff(), valve(), rng, {&log, "docker", {}});
    r.resume(clock.now());  // idle: nothing to resume
    CHECK(r.state() == RecoveryState::idle);
    CHECK_FALSE(r.next_deadline().has_value());
    r.start(clock.now());
    attempt(r, clock, true);
    REQUIRE(r.state() == RecoveryState::succeeded);
    r.resume(clock.now());  // succeeded: nothing to resume
    CHECK(r.state() == RecoveryState::succeeded);
    CHECK_FALSE(r.next_deadline().has_value());
    CHECK(log.count(EventKind::recovery_resumed) == 0);
}

TEST_CASE("resume while recovering brings the attempt forward without a resumed event") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    BackgroundRecovery r(fixed_backoff(), valve(), rng, {&log, "docker", {}});
    r.start(clock.now());
    attempt(r, clock, false);
    attempt(r, clock, false);  // next in 4 s
    r.resume(clock.now());
    CHECK(r.state() == RecoveryState::recovering);
    CHECK(r.next_deadline() == clock.now());
    CHECK(log.count(EventKind::recovery_resumed) == 0);
    CHECK(attempt(r, clock, false) == 3);
    CHECK(r.next_deadline() == clock.now() + 1s);  // the backoff started over
}

TEST_CASE("resume during a running attempt keeps counting it") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    BackgroundRecovery r(fixed_backoff(), valve(), rng, {&log, "docker", {}});
    r.start(clock.now());
    attempt(r, clock, false);
    clock.advance_to(*r.next_deadline());
    REQUIRE(r.begin_attempt(clock.now()) == 2u);
    r.resume(clock.now());
    CHECK(r.attempt_running());
    CHECK(r.attempts() == 2);
    CHECK(r.on_attempt_result(clock.now(), true) == RecoveryState::succeeded);
    REQUIRE(log.count(EventKind::recovery_succeeded) == 1);
    CHECK(log.events().back().detail == "after 2 attempt(s)");
    CHECK(log.count(EventKind::recovery_resumed) == 0);
}

TEST_CASE("resume while recovering restarts the valve") {
    FakeClock clock;
    SeededRandom rng(1);
    BackgroundRecovery r(fixed_backoff(), valve(2, 10s), rng);
    r.start(clock.now());
    attempt(r, clock, false);  // 1 of 2
    clock.advance(9s);
    r.resume(clock.now());
    attempt(r, clock, false);  // would be the 2nd of 2, and past the first 10 s budget
    CHECK(r.state() == RecoveryState::recovering);
    attempt(r, clock, false);
    CHECK(r.state() == RecoveryState::paused);
    CHECK(r.pause_reason() == "gave up after 2 attempts");
}

TEST_CASE("recovery delays too long to add saturate instead of overflowing") {
    FakeClock clock;
    SeededRandom rng(1);
    BackoffParams huge = fixed_backoff();
    huge.initial = Duration::max();
    huge.max = Duration::max();
    BackgroundRecovery r(huge, valve(0, Duration::max()), rng);
    r.start(clock.now());
    CHECK(r.next_deadline() == TimePoint::max());
    r.conditions_changed(clock.now());
    CHECK(r.next_deadline() == clock.now());
    REQUIRE(r.begin_attempt(clock.now()) == 1u);
    r.on_attempt_result(clock.now(), false);
    CHECK(r.state() == RecoveryState::recovering);  // the budget is effectively unlimited
    CHECK(r.next_deadline() == TimePoint::max());
}

TEST_CASE("resume restarts the valve and the backoff, and the attempt can succeed") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    BackgroundRecovery r(fixed_backoff(), valve(2), rng, {&log, "docker", {}});
    r.start(clock.now());
    attempt(r, clock, false);
    attempt(r, clock, false);
    REQUIRE(r.state() == RecoveryState::paused);
    clock.advance(10min);
    r.resume(clock.now());
    CHECK(r.state() == RecoveryState::recovering);
    CHECK(r.attempts() == 0);
    CHECK(r.next_deadline() == clock.now());
    CHECK(log.count(EventKind::recovery_resumed) == 1);
    attempt(r, clock, false);
    CHECK(r.next_deadline() == clock.now() + 1s);  // backoff starts over
    attempt(r, clock, true);
    CHECK(r.state() == RecoveryState::succeeded);
}

TEST_CASE("a change of conditions makes the next attempt due at once") {
    FakeClock clock;
    SeededRandom rng(1);
    BackgroundRecovery r(fixed_backoff(), valve(), rng);
    r.start(clock.now());
    attempt(r, clock, false);
    attempt(r, clock, false);  // next in 4 s
    clock.advance(1s);
    r.conditions_changed(clock.now());
    CHECK(r.next_deadline() == clock.now());
    CHECK(r.begin_attempt(clock.now()) == 3u);
}

TEST_CASE("with a wake fraction a change of conditions shortens the remaining wait") {
    FakeClock clock;
    SeededRandom rng(1);
    BackgroundRecovery r(fixed_backoff(), valve(0, 0ms, 0.25), rng);
    r.start(clock.now());
    attempt(r, clock, false);
    attempt(r, clock, false);  // next in 4 s
    r.conditions_changed(clock.now());
    CHECK(r.next_deadline() == clock.now() + 1s);
}

TEST_CASE("a change of conditions does not wake a paused recovery") {
    FakeClock clock;
    SeededRandom rng(1);
    BackgroundRecovery r(fixed_backoff(), valve(1), rng);
    r.start(clock.now());
    attempt(r, clock, false);
    REQUIRE(r.state() == RecoveryState::paused);
    r.conditions_changed(clock.now());
    CHECK(r.state() == RecoveryState::paused);
    CHECK_FALSE(r.next_deadline().has_value());
}

TEST_CASE("postpone delays the next attempt without counting one") {
    FakeClock clock;
    SeededRandom rng(1);
    BackgroundRecovery r(fixed_backoff(), valve(), rng);
    r.start(clock.now());
    r.postpone(clock.now() + 30s);  // e.g. the breaker is open for 30 s
    CHECK(r.next_deadline() == clock.now() + 30s);
    r.postpone(clock.now() + 5s);  // never earlier
    CHECK(r.next_deadline() == clock.now() + 30s);
    CHECK(r.attempts() == 0);
}

TEST_CASE("double start and double stop are safe") {
    FakeClock clock;
    SeededRandom rng(1);
    BackgroundRecovery r(fixed_backoff(), valve(), rng);
    r.start(clock.now());
    const auto first = r.next_deadline();
    clock.advance(500ms);
    r.start(clock.now());
    CHECK(r.next_deadline() == first);  // the second start changed nothing
    r.stop();
    r.stop();
    CHECK(r.state() == RecoveryState::idle);
    CHECK_FALSE(r.next_deadline().has_value());
}

TEST_CASE("a result arriving after stop is ignored") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    BackgroundRecovery r(fixed_backoff(), valve(), rng, {&log, "docker", {}});
    r.start(clock.now());
    clock.advance(1s);
    REQUIRE(r.begin_attempt(clock.now()).has_value());
    r.stop();
    CHECK(r.on_attempt_result(clock.now(), true) == RecoveryState::idle);
    CHECK(log.count(EventKind::recovery_succeeded) == 0);
}

TEST_CASE("start after success begins a new recovery and keeps the backoff until reset") {
    FakeClock clock;
    SeededRandom rng(1);
    BackgroundRecovery r(fixed_backoff(), valve(), rng);
    r.start(clock.now());
    attempt(r, clock, false);
    attempt(r, clock, true);
    REQUIRE(r.state() == RecoveryState::succeeded);
    r.start(clock.now());
    CHECK(r.attempts() == 0);
    CHECK(r.next_deadline() == clock.now() + 4s);  // third delay: the service is flapping
    r.stop();
    r.reset_backoff();
    r.start(clock.now());
    CHECK(r.next_deadline() == clock.now() + 1s);
}
