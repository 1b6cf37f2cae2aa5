#include "runtime/output_format.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

namespace mainstay::runtime {
namespace {

// ordered_json keeps the fields in the order written ("time" first), as before.
void append_json(std::string& out, const OutputLine& line) {
    nlohmann::ordered_json object;
    object["time"] = iso_time(line.time);
    if (line.level) {
        object["level"] = level_word(*line.level);
        object["message"] = line.text;
    } else {
        object["service"] = line.label.empty() ? line.service : line.label;
        object["line"] = line.text;
    }
    out += object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
}

void append_own_text(std::string& out, const OutputLine& line) {
    out += iso_time(line.time);
    out += ' ';
    out += level_word(*line.level);
    out += ": ";
    out += line.text;
    out += '\n';
}

}  // namespace

std::string iso_time(std::chrono::system_clock::time_point time) {
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
    std::string out = cached;
    out += static_cast<char>('0' + millis / 100);
    out += static_cast<char>('0' + millis / 10 % 10);
    out += static_cast<char>('0' + millis % 10);
    out += 'Z';
    return out;
}

std::string_view level_word(config::LogLevel level) {
    switch (level) {
        case config::LogLevel::trace:
            return "trace";
        case config::LogLevel::debug:
            return "debug";
        case config::LogLevel::info:
            return "info";
        case config::LogLevel::warn:
            return "warning";
        case config::LogLevel::error:
            return "error";
    }
    return "info";
}

void append_console(std::string& out, const OutputLine& line, config::LogFormat format) {
    if (format == config::LogFormat::json) return append_json(out, line);
    if (line.level) return append_own_text(out, line);
    out += line.label.empty() ? line.service : line.label;
    out += " | ";
    out += line.text;
    out += '\n';
}

void append_file(std::string& out, const OutputLine& line, config::LogFormat format) {
    if (format == config::LogFormat::json) return append_json(out, line);
    if (line.level) return append_own_text(out, line);
    out += iso_time(line.time);
    out += ' ';
    out += line.text;
    out += '\n';
}

}  // namespace mainstay::runtime
