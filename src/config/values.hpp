// Parsers for the scalar forms of the configuration language.
//
// Each takes the text of one scalar (after interpolation) and returns the typed value or a
// message that completes "'<key>' must be ...". They know nothing of YAML or files.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mainstay::config {

// A value or the reason there is none.
template <class T>
struct Parsed {
    std::optional<T> value;
    std::string error;

    static Parsed ok(T v) { return {std::move(v), {}}; }
    static Parsed fail(std::string why) { return {std::nullopt, std::move(why)}; }
    explicit operator bool() const { return value.has_value(); }
};

using Duration = std::chrono::milliseconds;

// The shortest spelling that parse_duration reads back, e.g. 90000ms -> "1m30s".
std::string format_duration(Duration d);
// `500ms`, `10s`, `5m`, `1h`, combinations (`1m30s`), decimals (`1.5s`) or a bare number of seconds.
Parsed<Duration> parse_duration(std::string_view text);
// A bare number of bytes, or with B, KiB, MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000).
Parsed<std::uint64_t> parse_size(std::string_view text);
// `SIGTERM`, `TERM` or a number 1-64.
Parsed<int> parse_signal(std::string_view text);
std::string signal_name(int signal);
// A system message as it reads mid-sentence: "Connection refused" -> "connection refused";
// acronyms ("HTTP") are kept.
std::string lowercase_first(std::string text);
// The system's message for errno `error`, as it reads mid-sentence ("connection refused").
std::string errno_text(int error);
// `text` safe to show and to put in JSON: bytes that are not UTF-8 and control characters
// (escape sequences included) become '?', and it is cut after `max_bytes` (at a character's
// boundary) with "..." appended.
std::string printable(std::string_view text, std::size_t max_bytes = static_cast<std::size_t>(-1));

// "a directory", "a FIFO", "a character device", ... for a message about a file that is not a
// regular one.
std::string_view file_type_name(std::filesystem::file_type type);
// A decimal integer (no sign, no leading zeros interpreted as octal).
Parsed<std::int64_t> parse_integer(std::string_view text);
Parsed<double> parse_number(std::string_view text);
// true/false (also yes/no, on/off in any case).
Parsed<bool> parse_bool(std::string_view text);

// Splits a command line into words as a POSIX shell would: blanks separate words, single
// quotes keep everything literal, double quotes allow \" \\ \$ \`, a backslash escapes the
// next character outside quotes. No expansion is done.
Parsed<std::vector<std::string>> split_words(std::string_view text);

struct HostPort {
    std::string host;
    int port{0};

    bool operator==(const HostPort&) const = default;
};
// `host:port`, `[v6addr]:port`; the port 1-65535.
Parsed<HostPort> parse_host_port(std::string_view text);

struct HttpUrl {
    std::string host;
    int port{80};
    std::string target{"/"};  // path and query

    bool operator==(const HttpUrl&) const = default;
};
// `http://host[:port][/path]` only.
Parsed<HttpUrl> parse_http_url(std::string_view text);

struct StatusRange {
    int low{200};
    int high{399};

    bool operator==(const StatusRange&) const = default;
};
// `200` or `LOW-HIGH` with 100 <= LOW <= HIGH <= 599.
Parsed<StatusRange> parse_status_range(std::string_view text);

// The name pattern of services and capabilities: [a-z0-9][a-z0-9_.-]*
bool is_valid_name(std::string_view name);

// The candidate closest to `word` by edit distance, if close enough to be a likely typo.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace mainstay::config
