// Backoff: the delay before the next attempt of something that keeps failing.
//
// A Backoff hands out one delay per failed attempt: the base delay grows by the strategy
// (exponential `initial * multiplier^(n-1)`, a multiplier below 1 or NaN counting as 1; linear
// `initial + step * (n-1)`, step defaulting to initial; or constant `initial`), is capped at `max`, then jitter spreads
// it (none; full = random(0, d); equal = d/2 + random(0, d/2); decorrelated = min(max, random(initial, previous * 3));
// proportional = d * (1 +- jitter_fraction)). No jittered delay exceeds `max`. reset() starts the sequence over, e.g.
// after a service has stayed healthy for `reset_after`.
#pragma once

#include <cstdint>

#include "resilience/params.hpp"
#include "resilience/random.hpp"

namespace mainstay::resilience {

class Backoff {
public:
    Backoff(BackoffParams params, Random& random);

    // The delay before the next attempt; each call counts one more failure.
    Duration next();
    // The delay the n-th call to next() would return without jitter (n >= 1), capped at max.
    static Duration base_delay(const BackoffParams& params, std::uint32_t n);

    void reset();
    // How many delays have been handed out since construction or the last reset().
    std::uint32_t count() const { return count_; }
    const BackoffParams& params() const { return params_; }

private:
    Duration jitter(Duration base);

    BackoffParams params_;
    Random* random_;
    std::uint32_t count_{0};
    Duration previous_;  // last delay handed out, for decorrelated jitter
};

}  // namespace mainstay::resilience
