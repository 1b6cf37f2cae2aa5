// Randomness for the resilience machines (backoff jitter), behind an interface.
//
// Machines take a `Random&` so that the runtime can give them one seeded generator and tests
// can reproduce every jittered delay from a seed. SeededRandom wraps std::mt19937_64; its
// sequence is deterministic for a given seed and standard library.
#pragma once

#include <cstdint>
#include <random>

#include "resilience/params.hpp"

namespace mainstay::resilience {

class Random {
public:
    virtual ~Random() = default;
    // Uniform integer in [lo, hi], both included; returns lo when hi <= lo.
    virtual std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) = 0;
    // Uniform real in [lo, hi); returns lo when hi <= lo.
    virtual double uniform_real(double lo, double hi) = 0;

    // Uniform duration in [lo, hi], both included.
    Duration uniform(Duration lo, Duration hi) { return Duration{uniform_int(lo.count(), hi.count())}; }
};

class SeededRandom final : public Random {
public:
    explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}

    std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) override {
        if (hi <= lo) return lo;
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(engine_);
    }
    double uniform_real(double lo, double hi) override {
        if (!(hi > lo)) return lo;
        return std::uniform_real_distribution<double>(lo, hi)(engine_);
    }

private:
    std::mt19937_64 engine_;
};

}  // namespace mainstay::resilience
