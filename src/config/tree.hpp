// The YAML document as an owned tree whose every node knows its file, line and column.
//
// Reading through this tree instead of yaml-cpp nodes gives three things the loader needs:
// positions that survive merging `defaults:` (from the main file) into services (from their
// own files), interpolation applied once to every scalar, and duplicate keys reported at the
// second occurrence (yaml-cpp accepts them silently).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/interpolate.hpp"

namespace mainstay::config {

struct Node;

struct Entry;

struct Node {
    enum class Type { null, scalar, sequence, map };

    Type type{Type::null};
    Mark mark;
    std::string scalar;   // after interpolation
    bool invalid{false};  // interpolation failed (already reported): read as absent
    std::vector<Node> items;
    std::vector<Entry> entries;  // in document order, duplicates already dropped

    bool is_null() const { return type == Type::null; }
    bool is_scalar() const { return type == Type::scalar; }
    bool is_sequence() const { return type == Type::sequence; }
    bool is_map() const { return type == Type::map; }
    const Node* find(std::string_view key) const;
    const Entry* entry(std::string_view key) const;
};

struct Entry {
    std::string key;
    Mark key_mark;
    Node value;
};

// "a string", "a list", "a map", "empty": for messages.
std::string describe(const Node& node);

// Reads one YAML file. nullopt when the file cannot be read, has a syntax error, holds more
// than one document, or is empty (a warning); all of those are reported.
std::optional<Node> read_yaml_file(const std::filesystem::path& file, const Environment& env, Diagnostics& diags);
std::optional<Node> read_yaml_string(const std::string& text, const std::string& file_name, const Environment& env,
                                     Diagnostics& diags);

// `overlay` merged over `base`, key by key and recursively for maps; overlay wins. Keys in
// `exclusive` replace each other: when a map of `overlay` has one, none of `base`'s is added
// (a probe's handler, `exec`/`tcp`/`http`, replaces the default's rather than adding a second).
Node merge(const Node& base, const Node& overlay, const std::vector<std::string>& exclusive = {});

}  // namespace mainstay::config
