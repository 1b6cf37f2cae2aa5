#include "resilience/retry.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "support/fake_clock.hpp"
#include "unit/resilience/run_retry_sync.hpp"

using namespace mainstay::resilience;
using mainstay::testing::FakeClock;
using mainstay::testing::run_retry_sync;
using namespace std::chrono_literals;

namespace {

RetryParams retry_params(std::uint32_t max_attempts = 3, Duration timeout = 5s) {
    RetryParams p;
    p.max_attempts = max_attempts;
    p.timeout = timeout;
    p.backoff.initial = 100ms;
    p.backoff.max = 10s;
    p.backoff.multiplier = 2.0;
    p.backoff.jitter = Jitter::none;
    return p;
}

}  // namespace

TEST_CASE("retry succeeds on the first try without waiting") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    RetryPolicy policy(retry_params(), rng, {&log, "node", "wake"});
    const TimePoint start = clock.now();
    int calls = 0;
    const RetryState end = run_retry_sync(policy, clock, [&](std::uint32_t) {
        ++calls;
        return Outcome::success();
    });
    CHECK(end == RetryState::succeeded);
    CHECK(calls == 1);
    CHECK(policy.attempts() == 1);
    CHECK(clock.now() == start);
    CHECK(log.size() == 0);
    CHECK_FALSE(policy.next_deadline().has_value());
}

TEST_CASE("retry retries transient failures with backoff then succeeds") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    RetryPolicy policy(retry_params(), rng, {&log, "node", "wake"});
    const TimePoint start = clock.now();
    std::vector<Duration> called_at;
    const RetryState end = run_retry_sync(policy, clock, [&](std::uint32_t attempt) {
        called_at.push_back(std::chrono::duration_cast<Duration>(clock.now() - start));
        return attempt < 3 ? Outcome::transient("connection refused") : Outcome::success();
    });
    CHECK(end == RetryState::succeeded);
    CHECK(called_at == std::vector<Duration>{0ms, 100ms, 300ms});
    CHECK(log.count(EventKind::retry_attempt) == 2);
    CHECK(log.events()[0].detail == "connection refused");
    CHECK(log.events()[0].operation == "wake");
    CHECK(log.count(EventKind::retry_exhausted) == 0);
}

TEST_CASE("retry is exhausted after max attempts and carries the last error") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    RetryPolicy policy(retry_params(3), rng, {&log, "node", "wake"});
    int calls = 0;
    const RetryState end = run_retry_sync(policy, clock, [&](std::uint32_t attempt) {
        ++calls;
        return Outcome::transient("error " + std::to_string(attempt));
    });
    CHECK(end == RetryState::exhausted);
    CHECK(calls == 3);
    CHECK(policy.last_error() == "error 3");
    CHECK(log.count(EventKind::retry_attempt) == 2);
    REQUIRE(log.count(EventKind::retry_exhausted) == 1);
    CHECK(log.events().back().detail == "error 3");
}

TEST_CASE("retry stops at once on a permanent failure") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    RetryPolicy policy(retry_params(5), rng, {&log, "node", "wake"});
    int calls = 0;
    const RetryState end = run_retry_sync(policy, clock, [&](std::uint32_t) {
        ++calls;
        return Outcome::permanent("executable not found: gcloud");
    });
    CHECK(end == RetryState::failed_permanent);
    CHECK(calls == 1);
    CHECK(policy.last_error() == "executable not found: gcloud");
    CHECK(log.count(EventKind::retry_failed_permanent) == 1);
    CHECK(log.count(EventKind::retry_attempt) == 0);
}

TEST_CASE("a timed-out attempt counts as a transient failure and as a timeout") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    RetryPolicy policy(retry_params(3, 2s), rng, {&log, "node", "wake"});
    const RetryState end = run_retry_sync(policy, clock, [&](std::uint32_t attempt) {
        if (attempt == 1) {
            clock.advance(3s);  // hangs past its 2 s timeout
            return Outcome::success();
        }
        return Outcome::success();
    });
    CHECK(end == RetryState::succeeded);
    CHECK(policy.attempts() == 2);
    CHECK(policy.timeouts() == 1);
    CHECK(log.count(EventKind::timeout) == 1);
    CHECK(log.count(EventKind::retry_attempt) == 1);
}

TEST_CASE("the runtime drives retry by deadlines: attempt, timeout deadline, next attempt") {
    SeededRandom rng(1);
    RetryPolicy policy(retry_params(3, 2s), rng);
    const TimePoint t0 = TimePoint{} + 1h;
    CHECK(policy.state() == RetryState::idle);
    CHECK_FALSE(policy.start_attempt(t0).has_value());

    policy.begin(t0);
    CHECK(policy.state() == RetryState::waiting);
    CHECK(policy.next_deadline() == t0);
    CHECK(policy.start_attempt(t0) == 1u);
    CHECK(policy.state() == RetryState::attempting);
    CHECK(policy.next_deadline() == t0 + 2s);  // the runtime enforces this timeout
    CHECK_FALSE(policy.start_attempt(t0).has_value());

    CHECK(policy.on_result(t0 + 2s, Outcome::timed_out()) == RetryState::waiting);
    CHECK(policy.last_error() == "timed out after 2000ms");
    CHECK(policy.next_deadline() == t0 + 2s + 100ms);
    CHECK_FALSE(policy.start_attempt(t0 + 2s + 99ms).has_value());
    CHECK(policy.start_attempt(t0 + 2s + 100ms) == 2u);
    CHECK(policy.on_result(t0 + 3s, Outcome::transient("e")) == RetryState::waiting);
    CHECK(policy.next_deadline() == t0 + 3s + 200ms);
}

TEST_CASE("a result while no attempt is running is ignored") {
    SeededRandom rng(1);
    RetryPolicy policy(retry_params(), rng);
    const TimePoint t0 = TimePoint{} + 1h;
    policy.begin(t0);
    CHECK(policy.on_result(t0, Outcome::success()) == RetryState::waiting);
    CHECK(policy.attempts() == 0);
}

TEST_CASE("begin after a final state starts a fresh series with a fresh backoff") {
    FakeClock clock;
    SeededRandom rng(1);
    RetryPolicy policy(retry_params(2), rng);
    run_retry_sync(policy, clock, [](std::uint32_t) { return Outcome::transient("down"); });
    REQUIRE(policy.state() == RetryState::exhausted);
    const TimePoint restart = clock.now();
    std::vector<Duration> called_at;
    run_retry_sync(policy, clock, [&](std::uint32_t attempt) {
        called_at.push_back(std::chrono::duration_cast<Duration>(clock.now() - restart));
        return attempt == 2 ? Outcome::success() : Outcome::transient("down");
    });
    CHECK(policy.state() == RetryState::succeeded);
    CHECK(policy.last_error() == "down");
    CHECK(called_at == std::vector<Duration>{0ms, 100ms});
}

TEST_CASE("an attempt taking exactly the timeout counts as timed out") {
    FakeClock clock;
    SeededRandom rng(1);
    RetryPolicy policy(retry_params(2, 2s), rng);
    const RetryState end = run_retry_sync(policy, clock, [&](std::uint32_t attempt) {
        if (attempt == 1) clock.advance(2s);  // the runtime's timer fires at the deadline
        return Outcome::success();
    });
    CHECK(end == RetryState::succeeded);
    CHECK(policy.attempts() == 2);
    CHECK(policy.timeouts() == 1);
}

TEST_CASE("max_attempts 0 makes exactly one attempt") {
    FakeClock clock;
    SeededRandom rng(1);
    EventLog log;
    RetryPolicy policy(retry_params(0), rng, {&log, "node", "wake"});
    int calls = 0;
    const RetryState end = run_retry_sync(policy, clock, [&](std::uint32_t) {
        ++calls;
        return Outcome::transient("down");
    });
    CHECK(end == RetryState::exhausted);
    CHECK(calls == 1);
    CHECK(log.count(EventKind::retry_exhausted) == 1);
    CHECK(log.count(EventKind::retry_attempt) == 0);
}

TEST_CASE("timeout 0 sets no attempt deadline") {
    FakeClock clock;
    SeededRandom rng(1);
    RetryPolicy policy(retry_params(3, 0ms), rng);
    policy.begin(clock.now());
    REQUIRE(policy.start_attempt(clock.now()) == 1u);
    CHECK_FALSE(policy.next_deadline().has_value());
    const RetryState end = run_retry_sync(policy, clock, [&](std::uint32_t) {
        clock.advance(24h);  // however long it takes, it never times out
        return Outcome::success();
    });
    CHECK(end == RetryState::succeeded);
    CHECK(policy.timeouts() == 0);
}

TEST_CASE("retry durations too long to add saturate instead of overflowing") {
    FakeClock clock;
    SeededRandom rng(1);
    RetryParams p = retry_params(3, Duration::max());
    p.backoff.initial = Duration::max();
    p.backoff.max = Duration::max();
    RetryPolicy policy(p, rng);
    policy.begin(clock.now());
    REQUIRE(policy.start_attempt(clock.now()) == 1u);
    CHECK(policy.next_deadline() == TimePoint::max());
    CHECK(policy.on_result(clock.now(), Outcome::transient("down")) == RetryState::waiting);
    CHECK(policy.next_deadline() == TimePoint::max());
}
