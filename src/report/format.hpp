// Values spelled for people and for the status document: times, durations and text that must
// fit a column.
//
// Decisions run on the steady clock (SPEC: "decisions use a monotonic clock"); only what is
// shown carries wall-clock time. A reporter therefore converts a steady time point with one
// (steady_now, wall_now) pair read together: wall = wall_now + (at - steady_now). The text
// helpers count columns as UTF-8 code points (a reason may hold any text a child printed), cut
// at code-point boundaries, and never let a control character (a newline in a reason) break a
// line apart.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "resilience/clock.hpp"

namespace mainstay::report {

using resilience::Duration;
using resilience::TimePoint;
using WallTime = std::chrono::system_clock::time_point;

// ISO-8601 in UTC with milliseconds and a trailing Z: "2026-11-23T08:00:01.123Z".
std::string iso_time(WallTime t);
// The wall-clock time of steady time point `at`, given a steady and a wall reading taken together.
WallTime wall_time(TimePoint at, TimePoint steady_now, WallTime wall_now);

// A short human duration: "250ms", "16s", "2m30s", "1h5m". Below a minute whole seconds
// (rounded up, so a pending 200 ms reads "200ms" and 15.2 s reads "16s": never "0s" for
// something still to come); above, the two largest units. Negative reads as "0s".
std::string compact_duration(Duration d);
// A measured duration to the millisecond, as systemd-analyze prints them: "302ms" below a
// second, else seconds with up to three decimals, trailing zeros dropped ("1.2s", "75.034s").
// Negative reads as "0ms".
std::string precise_duration(Duration d);

// Columns `text` takes on a terminal: its UTF-8 code points.
std::size_t columns(std::string_view text);
// `text` in at most `width` columns: cut with "…" when longer; control characters become spaces.
std::string fit(std::string_view text, std::size_t width);
// `text` with every control character (newline, tab, escape, ...) replaced by a space.
std::string one_line(std::string_view text);

}  // namespace mainstay::report
