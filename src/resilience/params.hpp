// Parameters of the resilience machines, as plain values.
//
// The configuration layer fills these from YAML (with SPEC defaults) and the resilience machines
// consume them, so both sides share one definition. Durations are milliseconds everywhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mainstay::resilience {

using Duration = std::chrono::milliseconds;

enum class BackoffStrategy { exponential, linear, constant };

// none/full/equal/decorrelated as in "Exponential Backoff And Jitter" (AWS Architecture Blog);
// proportional spreads the delay uniformly over +-jitter_fraction of itself.
enum class Jitter { none, full, equal, decorrelated, proportional };

struct BackoffParams {
    Duration initial{std::chrono::seconds(1)};
    Duration max{std::chrono::minutes(5)};
    double multiplier{2.0};
    Jitter jitter{Jitter::full};
    BackoffStrategy strategy{BackoffStrategy::exponential};
    double jitter_fraction{0.1};     // only for Jitter::proportional
    std::optional<Duration> step{};  // only for linear: initial, initial + step, ...; unset: initial

    bool operator==(const BackoffParams&) const = default;
};

struct CircuitBreakerParams {
    std::uint32_t failure_threshold{5};
    Duration recovery_timeout{std::chrono::seconds(30)};
    std::uint32_t half_open_successes{1};
    std::uint32_t half_open_max_calls{1};

    bool operator==(const CircuitBreakerParams&) const = default;
};

// The safety valve of background recovery. Zero means unlimited.
struct RecoveryParams {
    std::uint32_t max_attempts{0};
    Duration max_total_time{0};
    // When conditions change (a dependency recovered), the next attempt moves to
    // now + wake_fraction * (time left); 0 = at once. Not in the YAML schema yet.
    double wake_fraction{0.0};

    bool operator==(const RecoveryParams&) const = default;
};

// One-shot operations (wake commands, capability hooks).
struct RetryParams {
    std::uint32_t max_attempts{3};
    Duration timeout{std::chrono::seconds(120)};
    BackoffParams backoff{};

    bool operator==(const RetryParams&) const = default;
};

// Thresholds of a health tracker (the probe's timing lives in the probe spec).
struct HealthParams {
    std::uint32_t success_threshold{1};
    std::uint32_t failure_threshold{3};
    // How long a probe result may be reused instead of probing again; 0 = never cached.
    Duration cache_ttl{0};

    bool operator==(const HealthParams&) const = default;
};

// A capability's upgrade cycle: how often FULL is re-checked, and the backoff after a failed
// `activate`.
struct CapabilityParams {
    Duration monitor_interval{std::chrono::seconds(10)};
    BackoffParams backoff{};
};

// Thresholds and counts where 0 would mean "never" (failure_threshold, max_attempts, ...)
// count as 1; every machine clamps through this one helper.
constexpr std::uint32_t at_least_one(std::uint32_t n) {
    return n == 0 ? 1 : n;
}

// The configuration words ("full", "exponential", ...), from one name table per enum:
// parse_*(to_string(x)) == x for every enumerator; an unknown word (matched exactly, so
// case-sensitively) gives nullopt.
std::string_view to_string(Jitter jitter);
std::string_view to_string(BackoffStrategy strategy);
std::optional<Jitter> parse_jitter(std::string_view word);
std::optional<BackoffStrategy> parse_backoff_strategy(std::string_view word);

}  // namespace mainstay::resilience
