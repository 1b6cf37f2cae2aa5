// Typed reading of one YAML map, reporting every problem with its position.
//
// A reader is made for one map node; each getter names a key it knows, parses and range-checks
// the value and stores it only when valid (the default stays otherwise). `finish()` then
// reports every key no getter asked for (except `x-` keys), suggesting the nearest known one.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/schema.hpp"
#include "config/tree.hpp"

namespace mainstay::config {

class MapReader {
public:
    MapReader(const Node& map, Diagnostics& diags);

    // The value of `key`, or nullptr when absent or null. Marks the key as known.
    const Node* get(std::string_view key);
    const Entry* entry(std::string_view key);
    Diagnostics& diags() { return diags_; }
    const Node& node() const { return map_; }

    void duration(std::string_view key, Duration& out);
    // A duration that must be more than zero (an interval of 0 would be a busy loop).
    void positive_duration(std::string_view key, Duration& out);
    void optional_duration(std::string_view key, std::optional<Duration>& out);
    void size(std::string_view key, std::uint64_t& out);
    void count(std::string_view key, std::uint32_t& out, std::uint32_t min);  // min ... 2^31-1
    void number(std::string_view key, double& out, double min);
    void boolean(std::string_view key, bool& out);
    void string(std::string_view key, std::string& out);
    void optional_string(std::string_view key, std::optional<std::string>& out);
    void optional_path(std::string_view key, std::optional<Path>& out);
    void signal(std::string_view key, int& out);

    template <class E>
    void enumeration(std::string_view key, E& out, const std::vector<std::pair<std::string_view, E>>& words) {
        const Node* n = get(key);
        if (n == nullptr) return;
        std::vector<std::string> names;
        for (const auto& [word, value] : words) {
            if (n->is_scalar() && n->scalar == word) {
                out = value;
                return;
            }
            names.emplace_back(word);
        }
        report_not_one_of(key, *n, names);
    }

    // Reports every key no getter asked for, with the nearest known key as a suggestion.
    void finish();

private:
    void report_not_one_of(std::string_view key, const Node& value, const std::vector<std::string>& words);
    // The scalar text of `key`'s value, or nullopt (with an error when the value is not a scalar).
    std::optional<std::string> scalar(std::string_view key, const Node*& node, std::string_view form);

    // Reads `key` through `parse` (one of values.hpp's parsers) into `out`; reports a wrong value.
    template <class T, class Parse>
    void parsed(std::string_view key, std::string_view form, Parse parse, T& out) {
        const Node* n = nullptr;
        auto text = scalar(key, n, form);
        if (!text) return;
        auto v = parse(*text);
        if (!v) return diags_.error(n->mark, "'" + std::string(key) + "' must be " + v.error);
        out = *v.value;
    }

    const Node& map_;
    Diagnostics& diags_;
    std::vector<std::string> known_;
};

// True when `node` is a map; otherwise reports "'key' must be a map" and returns false.
bool expect_map(const Node& node, std::string_view key, Diagnostics& diags);

// `x` relative to the directory of the file that `at` points into.
Path resolve_path(const std::string& text, const Mark& at);

// An argv list, or a string split into words (kept whole when `shell`). Reports and returns
// nullopt when invalid; an empty list is returned as is (callers decide if that is allowed).
std::optional<Argv> read_argv(const Node& node, std::string_view key, bool shell, Diagnostics& diags);

// read_argv, and an empty list or an empty program name is an error too.
std::optional<Argv> read_command_argv(const Node& node, std::string_view key, bool shell, Diagnostics& diags);

// A map of scalars or a list of `KEY=VALUE` strings, each name checked by `valid_name`
// (`what` names it in messages: "environment variable name").
std::optional<EnvVars> read_pairs(const Node& node, std::string_view key, Diagnostics& diags,
                                  bool (*valid_name)(std::string_view), std::string_view what);
std::optional<EnvVars> read_env_vars(const Node& node, std::string_view key, Diagnostics& diags);
bool valid_env_name(std::string_view name);
bool valid_header_name(std::string_view name);

// A list of strings; a single string counts as a one-element list.
std::optional<std::vector<std::pair<std::string, Mark>>> read_string_list(const Node& node, std::string_view key,
                                                                          Diagnostics& diags);

}  // namespace mainstay::config
