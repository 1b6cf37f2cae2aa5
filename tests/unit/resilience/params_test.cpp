#include <doctest/doctest.h>

#include "resilience/params.hpp"

using namespace mainstay::resilience;

TEST_CASE("jitter and strategy names match the configuration words") {
    CHECK(to_string(Jitter::decorrelated) == "decorrelated");
    CHECK(to_string(BackoffStrategy::linear) == "linear");
    BackoffParams p;
    CHECK(p.initial == std::chrono::seconds(1));
    CHECK(p.max == std::chrono::minutes(5));
}
