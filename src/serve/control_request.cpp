#include "serve/control_request.hpp"

#include <algorithm>
#include <cstdint>

#include "report/json_read.hpp"

namespace mainstay::serve {

using nlohmann::json;
namespace jr = report::json_read;

namespace {

// nlohmann's "[json.exception.parse_error.101] parse error at line 1, ..." without the tag.
std::string parse_message(std::string_view what) {
    if (!what.empty() && what.front() == '[') {
        if (auto end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
    }
    return std::string(what);
}

// The field `key` as a boolean; absent or null is `fallback`.
bool read_bool(const json& request, const char* key, bool fallback, std::string& error) {
    auto it = request.find(key);
    if (it == request.end() || it->is_null()) return fallback;
    if (it->is_boolean()) return it->get<bool>();
    if (error.empty()) error = std::string(key) + ": must be true or false";
    return fallback;
}

// A number of milliseconds, whatever JSON number it is written as (a float, one too big for an
// integer), clamped to [0, kMaxSince]: converting out of range would be undefined.
std::chrono::milliseconds clamp_ms(const json& value) {
    const auto max = kMaxSince.count();
    if (value.is_number_unsigned()) {
        const auto v = value.get<std::uint64_t>();
        return std::chrono::milliseconds(v > static_cast<std::uint64_t>(max) ? max : static_cast<long long>(v));
    }
    if (value.is_number_integer()) {
        const auto v = value.get<std::int64_t>();
        return std::chrono::milliseconds(v < 0 ? 0 : (v > max ? max : v));
    }
    const double v = value.get<double>();
    if (!(v > 0)) return std::chrono::milliseconds(0);  // negative, zero or NaN
    if (v >= static_cast<double>(max)) return kMaxSince;
    return std::chrono::milliseconds(static_cast<long long>(v));
}

}  // namespace

ControlLine parse_control_line(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) return {};
    ControlLine out;
    // A key twice in one object is refused: `{"cmd":"status","cmd":"stop"}` must not stop
    // anything because the last one wins. One set of keys per object being read.
    std::vector<std::vector<std::string>> keys;
    std::string duplicate;
    const json::parser_callback_t watch = [&](int depth, json::parse_event_t event, json& parsed) {
        const auto level = static_cast<std::size_t>(depth);
        if (event == json::parse_event_t::object_start) {
            if (keys.size() <= level) keys.resize(level + 1);
            keys[level].clear();
        } else if (event == json::parse_event_t::key && level > 0 && level <= keys.size()) {
            auto& seen = keys[level - 1];
            const std::string& key = parsed.get_ref<const std::string&>();
            if (std::find(seen.begin(), seen.end(), key) != seen.end() && duplicate.empty()) duplicate = key;
            seen.push_back(key);
        }
        return true;
    };
    try {
        out.request = json::parse(line.begin(), line.end(), watch);
    } catch (const json::exception& e) {
        out.kind = ControlLine::Kind::malformed;
        out.error = "malformed request: " + parse_message(e.what());
        out.request = nullptr;
        return out;
    }
    if (!out.request.is_object()) {
        out.kind = ControlLine::Kind::malformed;
        out.error = "malformed request: not a JSON object";
        out.request = nullptr;
        return out;
    }
    if (!duplicate.empty()) {
        out.kind = ControlLine::Kind::malformed;
        out.error = "malformed request: the key \"" + duplicate + "\" is given twice";
        out.request = nullptr;
        return out;
    }
    out.kind = ControlLine::Kind::request;
    return out;
}

ControlRequest read_control_request(const json& request) {
    ControlRequest out;
    if (!request.is_object()) {
        out.error = "malformed request: not a JSON object";
        return out;
    }
    // Not a string: "", which the handler answers as missing.
    out.cmd = jr::text(request, "cmd");
    out.name = jr::text(request, "name");
    out.watch = read_bool(request, "watch", false, out.error);
    out.follow = read_bool(request, "follow", false, out.error);
    if (auto it = request.find("since_ms"); it != request.end()) {
        if (it->is_number())
            out.since = clamp_ms(*it);
        else if (out.error.empty())
            out.error = "malformed request: since_ms must be a number of milliseconds";
    }
    if (!out.name.empty()) out.targets.push_back(out.name);
    for (const auto& n : jr::list(request, "names")) {
        if (!n.is_string()) continue;
        const std::string& name = n.get_ref<const std::string&>();
        out.names.insert(name);
        if (std::find(out.targets.begin(), out.targets.end(), name) == out.targets.end()) out.targets.push_back(name);
    }
    out.all = read_bool(request, "all", false, out.error);
    out.wait = read_bool(request, "wait", false, out.error);
    if (auto it = request.find("lines"); it != request.end() && it->is_number()) {
        const auto ms = clamp_ms(*it).count();  // the same clamping, for a count
        out.lines = static_cast<std::size_t>(std::min<long long>(ms, static_cast<long long>(kMaxLogLines)));
    }
    out.signal = jr::text(request, "signal");
    if (auto it = request.find("to"); it != request.end()) {
        if (!it->is_string())
            out.error = "to: must be a tier's name";
        else
            out.to = it->get<std::string>();
    }
    return out;
}

}  // namespace mainstay::serve
