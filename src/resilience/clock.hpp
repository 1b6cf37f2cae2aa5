// Time for the resilience machines: one monotonic time-point type and a clock to read it.
//
// The machines never read a clock themselves; every call that depends on time takes `now`.
// The runtime reads a SteadyClock and passes its value in; tests use their own clock
// (tests/support/fake_clock.hpp), whose time only moves when the test advances it.
#pragma once

#include <chrono>
#include <limits>
#include <ratio>

#include "resilience/params.hpp"

namespace mainstay::resilience {

using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
public:
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
};

// The real monotonic clock, for the runtime.
class SteadyClock final : public Clock {
public:
    TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// `t + d`, saturating at TimePoint::max() (or min() for a negative `d`) instead of
// overflowing: a Duration of milliseconds converted to the clock's nanoseconds overflows past
// about 292 years, so configured durations (Duration::max() included) go through this at
// every `now + d`. A deadline of TimePoint::max() means "never" in practice.
inline TimePoint add_saturating(TimePoint t, Duration d) {
    using Ticks = TimePoint::duration;
    using Rep = Ticks::rep;
    static_assert(std::ratio_less_equal_v<Ticks::period, Duration::period>);
    constexpr Rep per_unit = std::chrono::duration_cast<Ticks>(Duration{1}).count();
    constexpr Rep rep_max = std::numeric_limits<Rep>::max();
    constexpr Rep rep_min = std::numeric_limits<Rep>::min();
    if (d.count() > rep_max / per_unit) return TimePoint::max();
    if (d.count() < rep_min / per_unit) return TimePoint::min();
    const Rep delta = static_cast<Rep>(d.count()) * per_unit;
    const Rep base = t.time_since_epoch().count();
    if (delta > 0 && base > rep_max - delta) return TimePoint::max();
    if (delta < 0 && base < rep_min - delta) return TimePoint::min();
    return TimePoint{Ticks{base + delta}};
}

// Whole milliseconds from `from` to `to`, rounded up so that a deadline not yet reached never
// reads as 0 ms remaining; negative spans read as zero.
inline Duration remaining(TimePoint from, TimePoint to) {
    if (to <= from) return Duration{0};
    return std::chrono::ceil<Duration>(to - from);
}

}  // namespace mainstay::resilience
