#include "resilience/backoff.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <vector>

using namespace mainstay::resilience;
using namespace std::chrono_literals;

namespace {

BackoffParams params(Duration initial, Duration max, Jitter jitter = Jitter::none,
                     BackoffStrategy strategy = BackoffStrategy::exponential) {
    BackoffParams p;
    p.initial = initial;
    p.max = max;
    p.multiplier = 2.0;
    p.jitter = jitter;
    p.strategy = strategy;
    return p;
}

std::vector<long> delays(Backoff& b, int n) {
    std::vector<long> out;
    for (int i = 0; i < n; ++i) out.push_back(static_cast<long>(b.next().count()));
    return out;
}

constexpr int samples = 10000;

}  // namespace

TEST_CASE("exponential delays without jitter are 0.1, 0.2, 0.4 s") {
    SeededRandom rng(1);
    Backoff b(params(100ms, 10s), rng);
    CHECK(delays(b, 4) == std::vector<long>{100, 200, 400, 800});
    CHECK(b.count() == 4);
}

TEST_CASE("max caps the delay") {
    SeededRandom rng(1);
    Backoff b(params(1s, 5s), rng);
    CHECK(delays(b, 6) == std::vector<long>{1000, 2000, 4000, 5000, 5000, 5000});
}

TEST_CASE("the multiplier sets the growth rate") {
    SeededRandom rng(1);
    BackoffParams p = params(100ms, 1min);
    p.multiplier = 3.0;
    Backoff b(p, rng);
    CHECK(delays(b, 4) == std::vector<long>{100, 300, 900, 2700});
}

TEST_CASE("exponential growth over many attempts stays at max without overflow") {
    SeededRandom rng(1);
    Backoff b(params(1s, 5min), rng);
    for (int i = 0; i < 5000; ++i) b.next();
    CHECK(b.next() == 5min);
    CHECK(Backoff::base_delay(params(1s, 5min), 100000) == 5min);
}

TEST_CASE("linear delays grow by initial each attempt up to max") {
    SeededRandom rng(1);
    Backoff b(params(500ms, 1800ms, Jitter::none, BackoffStrategy::linear), rng);
    CHECK(delays(b, 5) == std::vector<long>{500, 1000, 1500, 1800, 1800});
}

TEST_CASE("linear delays with a step of their own: initial, initial + step, ...") {
    SeededRandom rng(1);
    auto p = params(2s, 10s, Jitter::none, BackoffStrategy::linear);
    p.step = 3s;
    Backoff b(p, rng);
    CHECK(delays(b, 5) == std::vector<long>{2000, 5000, 8000, 10000, 10000});
    p.step = 0s;  // a step of 0: every wait is initial
    CHECK(Backoff::base_delay(p, 4) == 2s);
}

TEST_CASE("constant delays stay at initial") {
    SeededRandom rng(1);
    Backoff b(params(700ms, 5s, Jitter::none, BackoffStrategy::constant), rng);
    CHECK(delays(b, 3) == std::vector<long>{700, 700, 700});
}

TEST_CASE("reset starts the sequence over") {
    SeededRandom rng(1);
    Backoff b(params(100ms, 10s), rng);
    delays(b, 3);
    b.reset();
    CHECK(b.count() == 0);
    CHECK(b.next() == 100ms);
}

TEST_CASE("full jitter stays within [0, d] and spreads over the range") {
    SeededRandom rng(42);
    Backoff b(params(400ms, 10s, Jitter::full, BackoffStrategy::constant), rng);
    Duration lo = 1h, hi = 0ms;
    for (int i = 0; i < samples; ++i) {
        const Duration d = b.next();
        REQUIRE(d >= 0ms);
        REQUIRE(d <= 400ms);
        lo = std::min(lo, d);
        hi = std::max(hi, d);
    }
    CHECK(lo <= 20ms);
    CHECK(hi >= 380ms);
}

TEST_CASE("equal jitter stays within [d/2, d] and spreads over the range") {
    SeededRandom rng(42);
    Backoff b(params(400ms, 10s, Jitter::equal, BackoffStrategy::constant), rng);
    Duration lo = 1h, hi = 0ms;
    for (int i = 0; i < samples; ++i) {
        const Duration d = b.next();
        REQUIRE(d >= 200ms);
        REQUIRE(d <= 400ms);
        lo = std::min(lo, d);
        hi = std::max(hi, d);
    }
    CHECK(lo <= 210ms);
    CHECK(hi >= 390ms);
}

TEST_CASE("decorrelated jitter stays within [initial, min(max, previous * 3)]") {
    SeededRandom rng(42);
    Backoff b(params(100ms, 5s, Jitter::decorrelated), rng);
    Duration previous = 100ms;
    bool reached_max = false;
    for (int i = 0; i < samples; ++i) {
        const Duration d = b.next();
        REQUIRE(d >= 100ms);
        REQUIRE(d <= std::min<Duration>(5s, previous * 3));
        reached_max = reached_max || d == 5s;
        previous = d;
    }
    CHECK(reached_max);
    b.reset();
    CHECK(b.next() <= 300ms);  // reset forgets the previous delay
}

TEST_CASE("proportional jitter stays within d +- jitter_fraction and never above max") {
    SeededRandom rng(42);
    BackoffParams p = params(1000ms, 10s, Jitter::proportional, BackoffStrategy::constant);
    p.jitter_fraction = 0.2;
    Backoff b(p, rng);
    Duration lo = 1h, hi = 0ms;
    for (int i = 0; i < samples; ++i) {
        const Duration d = b.next();
        REQUIRE(d >= 800ms);
        REQUIRE(d <= 1200ms);
        lo = std::min(lo, d);
        hi = std::max(hi, d);
    }
    CHECK(lo <= 810ms);
    CHECK(hi >= 1190ms);

    Backoff at_max(params(2s, 2s, Jitter::proportional, BackoffStrategy::constant), rng);
    for (int i = 0; i < samples; ++i) {
        const Duration d = at_max.next();
        REQUIRE(d >= 1800ms);
        REQUIRE(d <= 2s);
    }
}

TEST_CASE("the same seed gives the same jittered delays") {
    SeededRandom r1(99), r2(99);
    Backoff a(params(100ms, 1min, Jitter::full), r1);
    Backoff b(params(100ms, 1min, Jitter::full), r2);
    CHECK(delays(a, 10) == delays(b, 10));
}

TEST_CASE("a NaN or below-one multiplier is treated as 1") {
    SeededRandom rng(1);
    BackoffParams p = params(100ms, 10s);
    for (double m : {std::numeric_limits<double>::quiet_NaN(), 0.5, 0.0, -2.0}) {
        CAPTURE(m);
        p.multiplier = m;
        Backoff b(p, rng);
        CHECK(delays(b, 4) == std::vector<long>{100, 100, 100, 100});
    }
}

TEST_CASE("decorrelated jitter with a huge max does not overflow") {
    SeededRandom rng(1);
    Backoff b(params(Duration::max() / 2, Duration::max(), Jitter::decorrelated), rng);
    bool spread = false;
    for (int i = 0; i < 100; ++i) {
        const Duration d = b.next();
        CHECK(d >= Duration::max() / 2);
        spread = spread || d > Duration::max() / 2;  // previous * 3 saturates at max, not below
    }
    CHECK(spread);
}
