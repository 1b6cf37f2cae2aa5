#include "resilience/params.hpp"

#include <array>
#include <utility>

namespace mainstay::resilience {

namespace {

// The one name table per enum; to_string and parse_* both read it.
constexpr std::array<std::pair<Jitter, std::string_view>, 5> jitter_names{{
    {Jitter::none, "none"},
    {Jitter::full, "full"},
    {Jitter::equal, "equal"},
    {Jitter::decorrelated, "decorrelated"},
    {Jitter::proportional, "proportional"},
}};

constexpr std::array<std::pair<BackoffStrategy, std::string_view>, 3> strategy_names{{
    {BackoffStrategy::exponential, "exponential"},
    {BackoffStrategy::linear, "linear"},
    {BackoffStrategy::constant, "constant"},
}};

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum value) {
    for (const auto& [v, name] : table) {
        if (v == value) return name;
    }
    return "?";
}

template <class Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& table, std::string_view word) {
    for (const auto& [v, name] : table) {
        if (name == word) return v;
    }
    return std::nullopt;
}

}  // namespace

std::string_view to_string(Jitter jitter) {
    return name_of(jitter_names, jitter);
}
std::string_view to_string(BackoffStrategy strategy) {
    return name_of(strategy_names, strategy);
}
std::optional<Jitter> parse_jitter(std::string_view word) {
    return value_of(jitter_names, word);
}
std::optional<BackoffStrategy> parse_backoff_strategy(std::string_view word) {
    return value_of(strategy_names, word);
}

}  // namespace mainstay::resilience
