// Drives a RetryPolicy to its end on a FakeClock, in one call: for the retry tests.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "resilience/retry.hpp"
#include "support/fake_clock.hpp"

namespace mainstay::testing {

// Runs `operation` under `policy` until a final state, advancing the clock to each attempt's
// due time. The operation gets the attempt number and may advance the clock itself to simulate
// how long it takes; if it reaches the attempt's deadline (takes `timeout` or longer), the
// attempt counts as timed out whatever it returned. Returns the final state.
inline resilience::RetryState run_retry_sync(
    resilience::RetryPolicy& policy, FakeClock& clock,
    const std::function<resilience::Outcome(std::uint32_t attempt)>& operation) {
    using resilience::Outcome;
    using resilience::RetryState;
    if (policy.state() == RetryState::idle || policy.finished()) policy.begin(clock.now());
    while (!policy.finished()) {
        if (policy.state() == RetryState::waiting) {
            clock.advance_to(*policy.next_deadline());
            policy.start_attempt(clock.now());
            continue;
        }
        const std::optional<resilience::TimePoint> timeout_at = policy.next_deadline();
        Outcome outcome = operation(policy.attempts());
        // The runtime's timer fires at the deadline: an operation still running then (taking
        // exactly `timeout` included) is cancelled and counts as timed out.
        if (timeout_at && clock.now() >= *timeout_at) outcome = Outcome::timed_out();
        policy.on_result(clock.now(), outcome);
    }
    return policy.state();
}

}  // namespace mainstay::testing
