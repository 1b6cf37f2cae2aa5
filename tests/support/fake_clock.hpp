// A clock for tests: it stands still until the test advances it, so no test sleeps.
//
// The resilience machines and the supervisor take `now` from their caller; the resilience unit
// tests and the scenario tests read it from a FakeClock. Test code only: the runtime reads
// resilience::SteadyClock.
#pragma once

#include <chrono>

#include "resilience/clock.hpp"

namespace mainstay::testing {

// Starts at an arbitrary fixed point well after the epoch so that `now - something` never goes
// below zero in tests.
class FakeClock final : public resilience::Clock {
public:
    explicit FakeClock(resilience::TimePoint start = resilience::TimePoint{} + std::chrono::hours(1)) : now_(start) {}

    resilience::TimePoint now() const override { return now_; }
    void advance(resilience::Duration by) { now_ += by; }
    // Moves to `to` if it is later; time never goes backwards.
    void advance_to(resilience::TimePoint to) {
        if (to > now_) now_ = to;
    }

private:
    resilience::TimePoint now_;
};

}  // namespace mainstay::testing
