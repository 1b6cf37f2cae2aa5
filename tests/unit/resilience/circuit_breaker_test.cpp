#include "resilience/circuit_breaker.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/fake_clock.hpp"

using namespace mainstay::resilience;
using mainstay::testing::FakeClock;
using namespace std::chrono_literals;

namespace {

CircuitBreakerParams breaker_params(std::uint32_t threshold = 3, std::uint32_t successes = 1,
                                    std::uint32_t max_calls = 1) {
    CircuitBreakerParams p;
    p.failure_threshold = threshold;
    p.recovery_timeout = 30s;
    p.half_open_successes = successes;
    p.half_open_max_calls = max_calls;
    return p;
}

void fail_times(CircuitBreaker& b, FakeClock& clock, int n) {
    for (int i = 0; i < n; ++i) {
        REQUIRE(b.allow_request(clock.now()));
        b.on_failure(clock.now(), "connection refused");
    }
}

}  // namespace

TEST_CASE("breaker opens at the failure threshold, not before") {
    FakeClock clock;
    EventLog log;
    CircuitBreaker b(breaker_params(3), {&log, "docker", {}});
    fail_times(b, clock, 2);
    CHECK(b.state() == BreakerState::closed);
    CHECK(b.consecutive_failures() == 2);
    fail_times(b, clock, 1);
    CHECK(b.state() == BreakerState::open);
    REQUIRE(log.count(EventKind::breaker_transition, "open") == 1);
    CHECK(log.events().back().from == "closed");
    CHECK(log.events().back().detail == "connection refused");
}

TEST_CASE("a success while closed resets the consecutive failures") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(3));
    fail_times(b, clock, 2);
    REQUIRE(b.allow_request(clock.now()));
    b.on_success(clock.now());
    fail_times(b, clock, 2);
    CHECK(b.state() == BreakerState::closed);
    CHECK(b.consecutive_failures() == 2);
}

TEST_CASE("open breaker rejects without calling until the recovery timeout") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(1));
    fail_times(b, clock, 1);
    const TimePoint opened = clock.now();
    int calls = 0;
    for (int i = 0; i < 5; ++i) {
        clock.advance(5s);
        if (b.allow_request(clock.now())) ++calls;
    }
    CHECK(calls == 0);
    CHECK(b.stats().rejections == 5);
    CHECK(b.state() == BreakerState::open);
    CHECK(b.next_deadline() == opened + 30s);
    CHECK(b.remaining_cooldown(clock.now()) == 5s);
}

TEST_CASE("breaker half-opens once the recovery timeout has passed") {
    FakeClock clock;
    EventLog log;
    CircuitBreaker b(breaker_params(1), {&log, "docker", {}});
    fail_times(b, clock, 1);
    clock.advance(29999ms);
    b.poll(clock.now());
    CHECK(b.state() == BreakerState::open);
    clock.advance(1ms);
    b.poll(clock.now());
    CHECK(b.state() == BreakerState::half_open);
    CHECK_FALSE(b.next_deadline().has_value());
    CHECK(b.remaining_cooldown(clock.now()) == 0ms);
    CHECK(log.count(EventKind::breaker_transition, "half-open") == 1);
}

TEST_CASE("half-open breaker admits at most half_open_max_calls trial calls at a time") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(1, 3, 2));
    fail_times(b, clock, 1);
    clock.advance(30s);
    CHECK(b.allow_request(clock.now()));
    CHECK(b.allow_request(clock.now()));
    CHECK_FALSE(b.allow_request(clock.now()));
    b.on_success(clock.now());
    CHECK(b.allow_request(clock.now()));  // one trial finished, one slot free
    CHECK(b.state() == BreakerState::half_open);
}

TEST_CASE("half-open breaker closes after half_open_successes successes") {
    FakeClock clock;
    EventLog log;
    CircuitBreaker b(breaker_params(1, 2, 1), {&log, "docker", {}});
    fail_times(b, clock, 1);
    clock.advance(30s);
    REQUIRE(b.allow_request(clock.now()));
    b.on_success(clock.now());
    CHECK(b.state() == BreakerState::half_open);
    REQUIRE(b.allow_request(clock.now()));
    b.on_success(clock.now());
    CHECK(b.state() == BreakerState::closed);
    CHECK(b.consecutive_failures() == 0);
    CHECK(log.count(EventKind::breaker_transition, "closed") == 1);
}

TEST_CASE("a half-open failure reopens the breaker with a new cooldown") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(3));
    fail_times(b, clock, 3);
    clock.advance(30s);
    REQUIRE(b.allow_request(clock.now()));
    clock.advance(2s);
    b.on_failure(clock.now(), "still down");
    CHECK(b.state() == BreakerState::open);
    CHECK(b.next_deadline() == clock.now() + 30s);
    CHECK(b.remaining_cooldown(clock.now()) == 30s);
}

TEST_CASE("breaker callback fires exactly once per transition") {
    FakeClock clock;
    std::vector<std::string> transitions;
    CallbackSink sink([&](const Event& e) { transitions.push_back(e.from + "->" + e.to); });
    CircuitBreaker b(breaker_params(2), {&sink, "docker", {}});
    fail_times(b, clock, 2);  // closed -> open
    clock.advance(30s);
    REQUIRE(b.allow_request(clock.now()));  // open -> half-open
    b.on_failure(clock.now());              // half-open -> open
    b.on_failure(clock.now());              // late failure while open: no transition
    clock.advance(30s);
    b.poll(clock.now());  // open -> half-open
    b.poll(clock.now());  // nothing
    REQUIRE(b.allow_request(clock.now()));
    b.on_success(clock.now());  // half-open -> closed
    b.on_success(clock.now());  // nothing
    CHECK(transitions == std::vector<std::string>{"closed->open", "open->half-open", "half-open->open",
                                                  "open->half-open", "half-open->closed"});
    CHECK(b.stats().to_open == 2);
    CHECK(b.stats().to_half_open == 2);
    CHECK(b.stats().to_closed == 1);
}

TEST_CASE("breaker stats count calls, successes, failures and rejections") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(2));
    REQUIRE(b.allow_request(clock.now()));
    b.on_success(clock.now());
    fail_times(b, clock, 2);
    CHECK_FALSE(b.allow_request(clock.now()));
    CHECK_FALSE(b.allow_request(clock.now()));
    const BreakerStats& s = b.stats();
    CHECK(s.calls == 3);
    CHECK(s.successes == 1);
    CHECK(s.failures == 2);
    CHECK(s.rejections == 2);
}

TEST_CASE("reset closes an open breaker and forgets its failures") {
    FakeClock clock;
    EventLog log;
    CircuitBreaker b(breaker_params(2), {&log, "docker", {}});
    fail_times(b, clock, 2);
    REQUIRE(b.state() == BreakerState::open);
    b.reset(clock.now());
    CHECK(b.state() == BreakerState::closed);
    CHECK(b.consecutive_failures() == 0);
    CHECK(b.allow_request(clock.now()));
    CHECK(log.count(EventKind::breaker_transition, "closed") == 1);
    b.reset(clock.now());  // already closed: no event
    CHECK(log.count(EventKind::breaker_transition) == 2);
}

TEST_CASE("breaker state names follow the metrics words") {
    CHECK(to_string(BreakerState::closed) == "closed");
    CHECK(to_string(BreakerState::open) == "open");
    CHECK(to_string(BreakerState::half_open) == "half-open");
}

// Review finding 3: a result belongs to the period that admitted its call.

TEST_CASE("a late success from a closed-period call does not close a half-open breaker") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(2));
    REQUIRE(b.allow_request(clock.now()));  // a slow call admitted while closed
    fail_times(b, clock, 2);
    REQUIRE(b.state() == BreakerState::open);
    clock.advance(30s);
    b.poll(clock.now());
    REQUIRE(b.state() == BreakerState::half_open);
    b.on_success(clock.now());  // the slow call returns: no trial was made
    CHECK(b.state() == BreakerState::half_open);
    CHECK(b.stats().to_closed == 0);
    CHECK(b.allow_request(clock.now()));  // the trial slot is still free
}

TEST_CASE("a late failure from a closed-period call does not reopen a half-open breaker") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(2));
    REQUIRE(b.allow_request(clock.now()));
    fail_times(b, clock, 2);
    clock.advance(30s);
    b.poll(clock.now());
    REQUIRE(b.state() == BreakerState::half_open);
    b.on_failure(clock.now(), "late");
    CHECK(b.state() == BreakerState::half_open);
    CHECK(b.stats().to_open == 1);
    REQUIRE(b.allow_request(clock.now()));  // the trial
    b.on_success(clock.now());
    CHECK(b.state() == BreakerState::closed);
}

// Review finding 8: zero parameters count as one; reset with trials in flight.

TEST_CASE("breaker thresholds of zero count as one") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(0, 0, 0));
    fail_times(b, clock, 1);
    CHECK(b.state() == BreakerState::open);
    clock.advance(30s);
    CHECK(b.allow_request(clock.now()));  // half_open_max_calls 0: one trial
    CHECK_FALSE(b.allow_request(clock.now()));
    b.on_success(clock.now());  // half_open_successes 0: one success closes
    CHECK(b.state() == BreakerState::closed);
}

TEST_CASE("a recovery timeout too long to add saturates instead of overflowing") {
    FakeClock clock;
    CircuitBreakerParams p = breaker_params(1);
    p.recovery_timeout = Duration::max();
    CircuitBreaker b(p);
    fail_times(b, clock, 1);
    CHECK(b.next_deadline() == TimePoint::max());
    clock.advance(24h * 365);
    CHECK_FALSE(b.allow_request(clock.now()));
    CHECK(b.state() == BreakerState::open);
    CHECK(b.remaining_cooldown(clock.now()) > 24h * 365 * 100);
}

TEST_CASE("with permits a late result is told apart from a trial's") {
    FakeClock clock;
    EventLog log;
    CircuitBreaker b(breaker_params(2), {&log, "docker", {}});
    const BreakerPermit slow = b.allow_request(clock.now());  // admitted while closed
    REQUIRE(slow);
    fail_times(b, clock, 2);
    clock.advance(30s);
    const BreakerPermit trial = b.allow_request(clock.now());  // open -> half-open, the trial
    REQUIRE(trial);
    CHECK(trial.generation != slow.generation);
    b.on_success(clock.now(), slow);  // late: a trial is in flight, but this is not it
    CHECK(b.state() == BreakerState::half_open);
    CHECK_FALSE(b.allow_request(clock.now()));  // the trial still holds the only slot
    b.on_failure(clock.now(), slow, "late");
    CHECK(b.state() == BreakerState::half_open);
    b.on_success(clock.now(), trial);
    CHECK(b.state() == BreakerState::closed);
    CHECK(b.stats().successes == 2);  // every reported result is counted
    CHECK(b.stats().failures == 3);
    CHECK(log.count(EventKind::breaker_transition) == 3);
}

TEST_CASE("a refused permit's result changes nothing") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(1));
    fail_times(b, clock, 1);
    const BreakerPermit refused = b.allow_request(clock.now());
    REQUIRE_FALSE(refused);
    clock.advance(30s);
    b.poll(clock.now());
    b.on_success(clock.now(), refused);
    b.on_failure(clock.now(), refused);
    CHECK(b.state() == BreakerState::half_open);
    CHECK(b.stats().successes == 0);
    CHECK(b.stats().failures == 1);
}

TEST_CASE("reset from half-open with trials in flight ignores their late results") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(1, 2, 2));
    fail_times(b, clock, 1);
    clock.advance(30s);
    const BreakerPermit t1 = b.allow_request(clock.now());
    const BreakerPermit t2 = b.allow_request(clock.now());
    REQUIRE(t1);
    REQUIRE(t2);
    REQUIRE(b.state() == BreakerState::half_open);
    b.reset(clock.now());
    CHECK(b.state() == BreakerState::closed);
    b.on_failure(clock.now(), t1, "trial failed late");  // threshold 1, but from before the reset
    CHECK(b.state() == BreakerState::closed);
    CHECK(b.consecutive_failures() == 0);
    b.on_success(clock.now(), t2);
    CHECK(b.state() == BreakerState::closed);
    // The next half-open period starts with no trials in flight.
    fail_times(b, clock, 1);
    clock.advance(30s);
    CHECK(b.allow_request(clock.now()));
    CHECK(b.allow_request(clock.now()));
    CHECK_FALSE(b.allow_request(clock.now()));
}

TEST_CASE("a result without a permit in half-open never drives the trial count below zero") {
    FakeClock clock;
    CircuitBreaker b(breaker_params(1, 2, 1));
    fail_times(b, clock, 1);
    clock.advance(30s);
    REQUIRE(b.allow_request(clock.now()));
    b.on_success(clock.now());  // the trial: 1 of 2 successes, slot free again
    b.on_success(clock.now());  // no trial in flight: ignored
    b.on_success(clock.now());
    CHECK(b.state() == BreakerState::half_open);
    REQUIRE(b.allow_request(clock.now()));  // exactly one slot
    CHECK_FALSE(b.allow_request(clock.now()));
    b.on_success(clock.now());
    CHECK(b.state() == BreakerState::closed);
}
