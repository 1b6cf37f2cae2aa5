// A control socket request line (SPEC §1), read without I/O: the line as the transport takes it
// (report/control_server.cpp) and the request as the daemon's handler reads its fields
// (runtime/control_api.cpp). Fuzzed by fuzz/control_request_fuzz.cpp.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mainstay::serve {

struct ControlLine {
    enum class Kind { blank, request, malformed };
    Kind kind{Kind::blank};
    nlohmann::json request;  // a JSON object, when kind is request
    std::string error;       // "malformed request: ...", when kind is malformed
};

// One line without its '\n': trailing '\r', spaces and tabs are ignored; a line of blanks is
// `blank`; anything but a JSON object is `malformed`.
ControlLine parse_control_line(std::string_view line);

// The fields of a request object. Absent fields take their defaults, and so do `cmd`, `name`
// and `since_ms` of another type (the handler answers a missing cmd or name); `watch` or
// `follow` that is not a boolean is an error ("watch: must be true or false").
struct ControlRequest {
    std::string cmd;
    std::string name;
    bool watch{false};
    bool follow{false};
    std::optional<std::chrono::milliseconds> since;  // clamped to [0, 100 years]
    std::set<std::string> names;                     // strings of `names`; others are ignored
    // `name` then the strings of `names`, in the order given, each once (start|stop|...).
    std::vector<std::string> targets;
    bool all{false};                // start|stop|restart|resume|signal: every service it applies to
    bool wait{false};               // ... and answer again as each reaches its target state
    std::size_t lines{50};          // logs: how many lines, clamped to [0, kMaxLogLines]
    std::string signal;             // signal: its name or number ("SIGUSR1", "USR1", "10")
    std::optional<std::string> to;  // downgrade: the tier to hold (absent: the next lower one)
    std::string error;              // empty when the request reads
};

inline constexpr std::size_t kMaxLogLines = 100'000;

ControlRequest read_control_request(const nlohmann::json& request);

// The longest `since_ms` taken: what is older than the machine's boot is all the same.
inline constexpr std::chrono::milliseconds kMaxSince = std::chrono::hours(24 * 365 * 100);

}  // namespace mainstay::serve
