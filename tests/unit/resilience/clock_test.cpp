#include "resilience/clock.hpp"

#include <doctest/doctest.h>

#include "support/fake_clock.hpp"

using namespace mainstay::resilience;
using mainstay::testing::FakeClock;
using namespace std::chrono_literals;

TEST_CASE("fake clock stands still until advanced") {
    FakeClock clock;
    const TimePoint start = clock.now();
    CHECK(clock.now() == start);
    clock.advance(250ms);
    CHECK((clock.now() - start) == 250ms);
}

TEST_CASE("fake clock never goes backwards with advance_to") {
    FakeClock clock;
    const TimePoint start = clock.now();
    clock.advance_to(start - 1s);
    CHECK(clock.now() == start);
    clock.advance_to(start + 3s);
    CHECK((clock.now() - start) == 3s);
}

TEST_CASE("remaining rounds partial milliseconds up and never goes negative") {
    const TimePoint t{};
    CHECK(remaining(t, t + 1500ms).count() == 1500);
    CHECK(remaining(t, t + std::chrono::microseconds(1)).count() == 1);
    CHECK(remaining(t + 1s, t).count() == 0);
}

TEST_CASE("add_saturating adds, and stops at the ends of time instead of overflowing") {
    const TimePoint t = TimePoint{} + 1h;
    CHECK(add_saturating(t, 1500ms) == t + 1500ms);
    CHECK(add_saturating(t, -1500ms) == t - 1500ms);
    CHECK(add_saturating(t, 0ms) == t);
    CHECK(add_saturating(t, Duration::max()) == TimePoint::max());
    CHECK(add_saturating(t, Duration::min()) == TimePoint::min());
    // Converts to nanoseconds fine, but the sum overflows.
    const auto almost = std::chrono::duration_cast<Duration>(TimePoint::duration::max()) - 1ms;
    CHECK(add_saturating(t, almost) == TimePoint::max());
    CHECK(add_saturating(TimePoint::max(), 1ms) == TimePoint::max());
    CHECK(add_saturating(TimePoint::min(), -1ms) == TimePoint::min());
    CHECK(add_saturating(TimePoint{}, almost) == TimePoint{} + almost);
}
