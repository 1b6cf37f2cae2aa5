#include "resilience/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace mainstay::resilience {

namespace {

// Rounds a non-negative number of milliseconds to a Duration no larger than `cap`.
Duration capped(double ms, Duration cap) {
    if (!(ms < static_cast<double>(cap.count()))) return cap;  // also catches inf
    if (!(ms > 0.0)) return Duration{0};
    return Duration{static_cast<Duration::rep>(std::llround(ms))};
}

}  // namespace

Backoff::Backoff(BackoffParams params, Random& random) : params_(params), random_(&random), previous_(params.initial) {}

Duration Backoff::base_delay(const BackoffParams& params, std::uint32_t n) {
    n = at_least_one(n);
    const auto initial = static_cast<double>(params.initial.count());
    // A multiplier below 1 (or NaN, which every comparison rejects) would shrink the delays or
    // poison them: treat it as 1.
    const double multiplier = params.multiplier >= 1.0 ? params.multiplier : 1.0;
    switch (params.strategy) {
        case BackoffStrategy::exponential:
            return capped(initial * std::pow(multiplier, n - 1), params.max);
        case BackoffStrategy::linear: {
            const double step = params.step ? static_cast<double>(params.step->count()) : initial;
            return capped(initial + step * (n - 1), params.max);
        }
        case BackoffStrategy::constant:
            return capped(initial, params.max);
    }
    return capped(initial, params.max);
}

Duration Backoff::next() {
    ++count_;
    const Duration delay = jitter(base_delay(params_, count_));
    previous_ = delay;
    return delay;
}

void Backoff::reset() {
    count_ = 0;
    previous_ = params_.initial;
}

Duration Backoff::jitter(Duration base) {
    switch (params_.jitter) {
        case Jitter::none:
            return base;
        case Jitter::full:
            return random_->uniform(Duration{0}, base);
        case Jitter::equal: {
            const Duration half = base / 2;
            return half + random_->uniform(Duration{0}, base - half);
        }
        case Jitter::decorrelated: {
            // AWS: sleep = min(cap, random_between(base, sleep * 3)); independent of strategy.
            const Duration low = std::min(params_.initial, params_.max);
            const Duration tripled = previous_ > Duration::max() / 3 ? Duration::max() : previous_ * 3;  // no overflow
            const Duration high = std::max(low, tripled);
            return std::min(params_.max, random_->uniform(low, high));
        }
        case Jitter::proportional: {
            const double f = std::clamp(params_.jitter_fraction, 0.0, 1.0);
            const double factor = 1.0 + random_->uniform_real(-f, f);
            return capped(static_cast<double>(base.count()) * factor, params_.max);
        }
    }
    return base;
}

}  // namespace mainstay::resilience
