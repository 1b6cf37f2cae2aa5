#include "report/format.hpp"

#include <cstdio>

namespace mainstay::report {

std::string iso_time(WallTime t) {
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(t);
    const auto day = floor<days>(ms);
    const year_month_day ymd{day};
    const hh_mm_ss hms{ms - day};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
    return buf;
}

WallTime wall_time(TimePoint at, TimePoint steady_now, WallTime wall_now) {
    return wall_now + std::chrono::duration_cast<WallTime::duration>(at - steady_now);
}

std::string compact_duration(Duration d) {
    const std::int64_t ms = d.count();
    if (ms <= 0) return "0s";
    if (ms < 1000) return std::to_string(ms) + "ms";
    const std::int64_t s = (ms + 999) / 1000;
    if (s < 60) return std::to_string(s) + "s";
    auto two = [](std::int64_t big, const char* big_unit, std::int64_t small, const char* small_unit) {
        std::string out = std::to_string(big) + big_unit;
        if (small > 0) out += std::to_string(small) + small_unit;
        return out;
    };
    if (s < 3600) return two(s / 60, "m", s % 60, "s");
    if (s < 86400) return two(s / 3600, "h", s % 3600 / 60, "m");
    return two(s / 86400, "d", s % 86400 / 3600, "h");
}

std::string precise_duration(Duration d) {
    const std::int64_t ms = d.count();
    if (ms <= 0) return "0ms";
    if (ms < 1000) return std::to_string(ms) + "ms";
    std::string out = std::to_string(ms / 1000);
    std::string fraction = std::to_string(1000 + ms % 1000).substr(1);  // three digits
    while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
    if (!fraction.empty()) out += "." + fraction;
    return out + "s";
}

namespace {

bool continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

std::size_t columns(std::string_view text) {
    std::size_t n = 0;
    for (char c : text) n += continuation(c) ? 0 : 1;
    return n;
}

std::string one_line(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) c = ' ';
    }
    return out;
}

std::string fit(std::string_view text, std::size_t width) {
    std::string clean = one_line(text);
    if (columns(clean) <= width) return clean;
    if (width == 0) return {};
    // Keep width - 1 code points, then the ellipsis.
    std::size_t kept = 0;
    std::size_t i = 0;
    for (; i < clean.size(); ++i) {
        if (continuation(clean[i])) continue;
        if (kept == width - 1) break;
        ++kept;
    }
    clean.resize(i);
    return clean + "\u2026";
}

}  // namespace mainstay::report
