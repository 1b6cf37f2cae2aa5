#include "report/format.hpp"

#include <doctest/doctest.h>

#include "sample.hpp"

using namespace mainstay;
using namespace mainstay::report;
using namespace std::chrono_literals;

TEST_CASE("iso_time writes UTC with milliseconds and a trailing Z") {
    CHECK(iso_time(testing::kWallNow) == "2026-11-23T08:00:03.123Z");
    CHECK(iso_time(WallTime{}) == "1970-01-01T00:00:00.000Z");
    CHECK(iso_time(WallTime{std::chrono::sys_days{std::chrono::year{2024} / 2 / 29}} + 23h + 59min + 59s + 999ms) ==
          "2024-02-29T23:59:59.999Z");
}

TEST_CASE("a steady time point converts to the wall clock through one pair of readings") {
    CHECK(iso_time(wall_time(testing::kSteadyNow - 2s, testing::kSteadyNow, testing::kWallNow)) ==
          "2026-11-23T08:00:01.123Z");
    CHECK(iso_time(wall_time(testing::kSteadyNow + 500ms, testing::kSteadyNow, testing::kWallNow)) ==
          "2026-11-23T08:00:03.623Z");
}

TEST_CASE("compact durations keep the two largest units and never read 0s for time still to come") {
    CHECK(compact_duration(250ms) == "250ms");
    CHECK(compact_duration(16s) == "16s");
    CHECK(compact_duration(15200ms) == "16s");
    CHECK(compact_duration(150s) == "2m30s");
    CHECK(compact_duration(2min) == "2m");
    CHECK(compact_duration(1h + 5min + 7s) == "1h5m");
    CHECK(compact_duration(50h) == "2d2h");
    CHECK(compact_duration(0ms) == "0s");
    CHECK(compact_duration(-5ms) == "0s");
}

TEST_CASE("precise durations read milliseconds below a second and seconds with up to three decimals above") {
    CHECK(precise_duration(302ms) == "302ms");
    CHECK(precise_duration(0ms) == "0ms");
    CHECK(precise_duration(-3ms) == "0ms");
    CHECK(precise_duration(1000ms) == "1s");
    CHECK(precise_duration(1200ms) == "1.2s");
    CHECK(precise_duration(1034ms) == "1.034s");
    CHECK(precise_duration(75340ms) == "75.34s");
}

TEST_CASE("fit cuts with an ellipsis at code points, counts columns, and flattens control characters") {
    CHECK(fit("abcdef", 10) == "abcdef");
    CHECK(fit("abcdef", 4) == "abc\u2026");
    CHECK(columns(fit("abcdef", 4)) == 4);
    CHECK(fit("h\u00e9llo w\u00f6rld", 5) == "h\u00e9ll\u2026");
    CHECK(columns("h\u00e9llo") == 5);
    CHECK(fit("a\nb\tc", 10) == "a b c");
    CHECK(fit("abc", 0).empty());
    CHECK(one_line("x\r\ny") == "x  y");
}
