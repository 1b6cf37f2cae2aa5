#include "runtime/output_format.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

namespace mainstay::runtime {
namespace {

// ordered_json keeps the fields in the order written ("time" first), as before.
void append_json(std::string& out, const OutputLine& line) {
    nlohmann::ordered_json object;
    object["time"] = iso_time(line.time);
    object["service"] = line.label.empty() ? line.service : line.label;
    object["line"] = line.text;
    out += object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
}

// One of mainstay's own lines: spdlog formatted it (runtime/logging.cpp).
void append_own(std::string& out, const OutputLine& line) {
    out += line.text;
    out += '\n';
}

}  // namespace

std::string iso_time(std::chrono::system_clock::time_point time) {
    std::string out;
    append_iso_time(out, time);
    return out;
}

void append_iso_time(std::string& out, std::chrono::system_clock::time_point time) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    // A flood of lines shares a few seconds: format each second once per thread.
    thread_local std::time_t cached_seconds = -1;
    thread_local std::string cached;
    if (seconds != cached_seconds) {
        std::tm tm{};
        ::gmtime_r(&seconds, &tm);
        char buf[32];
        cached.assign(buf, std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.", &tm));
        cached_seconds = seconds;
    }
    const int millis = static_cast<int>(ms % 1000);
    out += cached;
    out += static_cast<char>('0' + millis / 100);
    out += static_cast<char>('0' + millis / 10 % 10);
    out += static_cast<char>('0' + millis % 10);
    out += 'Z';
}

std::string own_json(std::chrono::system_clock::time_point time, std::string_view level, std::string_view message) {
    nlohmann::ordered_json object;
    object["time"] = iso_time(time);
    object["level"] = level;
    object["message"] = message;
    return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_console(std::string& out, const OutputLine& line, config::LogFormat format) {
    if (line.level) return append_own(out, line);
    if (format == config::LogFormat::json) return append_json(out, line);
    out += line.label.empty() ? line.service : line.label;
    out += " | ";
    out += line.text;
    out += '\n';
}

void append_file(std::string& out, const OutputLine& line, config::LogFormat format) {
    if (line.level) return append_own(out, line);
    if (format == config::LogFormat::json) return append_json(out, line);
    append_iso_time(out, line.time);
    out += ' ';
    out += line.text;
    out += '\n';
}

}  // namespace mainstay::runtime
