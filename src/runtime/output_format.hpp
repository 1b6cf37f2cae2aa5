// How one line of output looks on the console and in the log files, in `log.format` text or
// json. Pure functions of their inputs (no I/O), used by the output writer's thread.
//
// text: mainstay's own lines    `2026-11-28T06:53:06.123Z info: message` (console and file;
//                               formatted by spdlog before they are queued, written as they are)
//       a service's lines       `name | line` on the console, `2026-11-28T06:53:06.123Z line`
//                               in its file
// json: {"time","level","message"} for mainstay's own lines, {"time","service","line"} for a
//       service's (console and file alike). Built with nlohmann-json; bytes that are not UTF-8
//       become U+FFFD, so every line is valid JSON whatever a service prints.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config/schema.hpp"

namespace mainstay::runtime {

struct OutputLine {
    std::chrono::system_clock::time_point time;
    std::optional<config::LogLevel> level;  // set: one of mainstay's own lines
    std::string_view service;               // a service's line: whose it is (its file, its counters)
    std::string_view label;                 // its console prefix ("db/stop" for a stop command)
    std::string_view text;                  // mainstay's own line: formatted already, by spdlog (runtime/logging)
};

// `2026-11-28T06:53:06.123Z` (UTC, milliseconds).
std::string iso_time(std::chrono::system_clock::time_point time);
// The same, appended to `out` (no allocation of its own: a flood formats a stamp per line).
void append_iso_time(std::string& out, std::chrono::system_clock::time_point time);
// `{"time":...,"level":...,"message":...}`: one of mainstay's own lines in json, for the spdlog
// formatter of log.format json.
std::string own_json(std::chrono::system_clock::time_point time, std::string_view level, std::string_view message);

// Append the line, newline included, as it goes to the console or to a file.
void append_console(std::string& out, const OutputLine& line, config::LogFormat format);
void append_file(std::string& out, const OutputLine& line, config::LogFormat format);

}  // namespace mainstay::runtime
