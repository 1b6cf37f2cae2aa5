// Reading the status document defensively: it may come over a socket from another version of
// mainstay, so a missing key or a value of an unexpected type reads as absent, never throws.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mainstay::report::json_read {

inline const nlohmann::json* field(const nlohmann::json& j, std::string_view key) {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

// The string at `key`, or `fallback` when absent or not a string.
inline std::string text(const nlohmann::json& j, std::string_view key, std::string fallback = {}) {
    const auto* v = field(j, key);
    return v && v->is_string() ? v->get<std::string>() : fallback;
}

inline std::optional<std::int64_t> integer(const nlohmann::json& j, std::string_view key) {
    const auto* v = field(j, key);
    if (v && v->is_number_integer()) return v->get<std::int64_t>();
    return std::nullopt;
}

inline bool flag(const nlohmann::json& j, std::string_view key) {
    const auto* v = field(j, key);
    return v && v->is_boolean() && v->get<bool>();
}

// The array at `key`, or an empty one.
inline const nlohmann::json& list(const nlohmann::json& j, std::string_view key) {
    static const nlohmann::json empty = nlohmann::json::array();
    const auto* v = field(j, key);
    return v && v->is_array() ? *v : empty;
}

// "08:00:01" from "2026-11-23T08:00:01.123Z" (with `millis`, "08:00:01.123"); "-" when the
// text is not such a time.
inline std::string clock_of(const std::string& iso, bool millis = false) {
    const std::size_t len = millis ? 12 : 8;
    if (iso.size() < 11 + len || iso[10] != 'T') return "-";
    return iso.substr(11, len);
}

}  // namespace mainstay::report::json_read
