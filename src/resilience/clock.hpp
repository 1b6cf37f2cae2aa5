// Time for the resilience machines: one monotonic time-point type and a clock to read it.
//
// The machines never read a clock themselves; every call that depends on time takes `now`.
// The runtime reads a SteadyClock and passes its value in; tests (and the supervisor's scenario
// tests) use FakeClock, whose time only moves when the test advances it, so no test sleeps.
#pragma once

#include <chrono>

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

// A clock that stands still until advanced. Starts at an arbitrary fixed point well after the
// epoch so that `now - something` never goes below zero in tests.
class FakeClock final : public Clock {
public:
    explicit FakeClock(TimePoint start = TimePoint{} + std::chrono::hours(1)) : now_(start) {}

    TimePoint now() const override { return now_; }
    void advance(Duration by) { now_ += by; }
    // Moves to `to` if it is later; time never goes backwards.
    void advance_to(TimePoint to) {
        if (to > now_) now_ = to;
    }

private:
    TimePoint now_;
};

// Whole milliseconds from `from` to `to`, rounded up so that a deadline not yet reached never
// reads as 0 ms remaining; negative spans read as zero.
inline Duration remaining(TimePoint from, TimePoint to) {
    if (to <= from) return Duration{0};
    return std::chrono::ceil<Duration>(to - from);
}

}  // namespace mainstay::resilience
