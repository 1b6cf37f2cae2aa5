#include "resilience/random.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace mainstay::resilience;
using namespace std::chrono_literals;

TEST_CASE("the same seed gives the same sequence, another seed a different one") {
    SeededRandom a(7), b(7), c(8);
    std::vector<std::int64_t> va, vb, vc;
    for (int i = 0; i < 20; ++i) {
        va.push_back(a.uniform_int(0, 1'000'000));
        vb.push_back(b.uniform_int(0, 1'000'000));
        vc.push_back(c.uniform_int(0, 1'000'000));
    }
    CHECK(va == vb);
    CHECK(va != vc);
}

TEST_CASE("uniform durations include both bounds and stay inside them") {
    SeededRandom rng(1);
    bool saw_low = false, saw_high = false;
    for (int i = 0; i < 1000; ++i) {
        const Duration d = rng.uniform(10ms, 13ms);
        CHECK(d >= 10ms);
        CHECK(d <= 13ms);
        saw_low = saw_low || d == 10ms;
        saw_high = saw_high || d == 13ms;
    }
    CHECK(saw_low);
    CHECK(saw_high);
}

TEST_CASE("an empty or inverted range returns its low bound") {
    SeededRandom rng(1);
    CHECK(rng.uniform_int(5, 5) == 5);
    CHECK(rng.uniform_int(9, 3) == 9);
    CHECK(rng.uniform_real(2.0, 2.0) == 2.0);
}
