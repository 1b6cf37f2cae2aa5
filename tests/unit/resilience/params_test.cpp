#include "resilience/params.hpp"

#include <doctest/doctest.h>

using namespace mainstay::resilience;

TEST_CASE("jitter and strategy names match the configuration words") {
    CHECK(to_string(Jitter::decorrelated) == "decorrelated");
    CHECK(to_string(BackoffStrategy::linear) == "linear");
    BackoffParams p;
    CHECK(p.initial == std::chrono::seconds(1));
    CHECK(p.max == std::chrono::minutes(5));
}

TEST_CASE("jitter and strategy words parse back to every enumerator") {
    for (Jitter j : {Jitter::none, Jitter::full, Jitter::equal, Jitter::decorrelated, Jitter::proportional}) {
        CAPTURE(to_string(j));
        CHECK(to_string(j) != "?");
        CHECK(parse_jitter(to_string(j)) == j);
    }
    for (BackoffStrategy s : {BackoffStrategy::exponential, BackoffStrategy::linear, BackoffStrategy::constant}) {
        CAPTURE(to_string(s));
        CHECK(to_string(s) != "?");
        CHECK(parse_backoff_strategy(to_string(s)) == s);
    }
    CHECK(parse_jitter("full") == Jitter::full);
    CHECK(parse_backoff_strategy("exponential") == BackoffStrategy::exponential);
    CHECK_FALSE(parse_jitter("Full").has_value());
    CHECK_FALSE(parse_jitter("").has_value());
    CHECK_FALSE(parse_jitter("?").has_value());
    CHECK_FALSE(parse_jitter("linear").has_value());
    CHECK_FALSE(parse_backoff_strategy("full").has_value());
    CHECK_FALSE(parse_backoff_strategy("exponential ").has_value());
}

TEST_CASE("at_least_one counts 0 as 1 and keeps everything else") {
    static_assert(at_least_one(0) == 1);
    CHECK(at_least_one(0) == 1);
    CHECK(at_least_one(1) == 1);
    CHECK(at_least_one(7) == 7);
    CHECK(at_least_one(UINT32_MAX) == UINT32_MAX);
}
