#include "config/tree.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace mainstay::config {

const Entry* Node::entry(std::string_view key) const {
    for (const auto& e : entries) {
        if (e.key == key) return &e;
    }
    return nullptr;
}

const Node* Node::find(std::string_view key) const {
    const Entry* e = entry(key);
    return e ? &e->value : nullptr;
}

std::string describe(const Node& node) {
    switch (node.type) {
        case Node::Type::null:
            return "nothing";
        case Node::Type::scalar:
            return "'" + node.scalar + "'";
        case Node::Type::sequence:
            return "a list";
        case Node::Type::map:
            return "a map";
    }
    return "?";
}

namespace {

Mark mark_of(const YAML::Mark& m, const std::string& file) {
    if (m.line < 0) return {file, 0, 0};
    return {file, m.line + 1, m.column + 1};
}

// Bounds what aliases can do: a self-referencing alias (`&a [*a]`) would recurse forever, and
// nested aliases can expand exponentially ("billion laughs").
struct Budget {
    int depth{0};
    std::size_t nodes{0};
    bool exceeded{false};
    static constexpr int kMaxDepth = 64;
    static constexpr std::size_t kMaxNodes = 100'000;
};

Node convert(const YAML::Node& y, const Mark& fallback, const std::string& file, const Environment& env,
             Diagnostics& diags, Budget& budget);

// The keys of the map being read, to its entries: a map of 80,000 keys is read in linear time,
// not with a scan of the keys so far per key.
class KeyIndex {
public:
    const Entry* find(const Node& n, const std::string& key) const {
        auto it = at_.find(key);
        return it == at_.end() ? nullptr : &n.entries[it->second];
    }
    void add(Node& n, Entry entry) {
        at_.emplace(entry.key, n.entries.size());
        n.entries.push_back(std::move(entry));
    }

private:
    std::unordered_map<std::string, std::size_t> at_;
};

// Adds the entries of a `<<: *anchor` merge (a map or a list of maps) that `n` does not set itself.
void merge_key(const Node& source, Node& n, KeyIndex& keys, Diagnostics& diags) {
    if (source.is_sequence()) {
        for (const auto& item : source.items) merge_key(item, n, keys, diags);
        return;
    }
    if (!source.is_map()) {
        diags.error(source.mark, "'<<' must merge a map or a list of maps, got " + describe(source));
        return;
    }
    for (const auto& e : source.entries) {
        if (keys.find(n, e.key) == nullptr) keys.add(n, e);
    }
}

Node convert_map(const YAML::Node& y, Node n, const std::string& file, const Environment& env, Diagnostics& diags,
                 Budget& budget) {
    std::vector<Node> merges;
    KeyIndex keys;
    for (auto it = y.begin(); it != y.end(); ++it) {
        Mark key_mark = mark_of(it->first.Mark(), file);
        if (!it->first.IsScalar()) {
            diags.error(key_mark, "a key must be a plain string");
            continue;
        }
        const std::string& key = it->first.Scalar();
        if (key == "<<") {
            merges.push_back(convert(it->second, key_mark, file, env, diags, budget));
            continue;
        }
        if (const Entry* prev = keys.find(n, key)) {
            diags.error(key_mark,
                        "duplicate key '" + key + "' (first at line " + std::to_string(prev->key_mark.line) + ")");
            continue;
        }
        keys.add(n, {key, key_mark, convert(it->second, key_mark, file, env, diags, budget)});
    }
    for (const auto& m : merges) merge_key(m, n, keys, diags);
    return n;
}

Node convert(const YAML::Node& y, const Mark& fallback, const std::string& file, const Environment& env,
             Diagnostics& diags, Budget& budget) {
    Node n;
    n.mark = mark_of(y.Mark(), file);
    if (n.mark.line == 0) n.mark = fallback;
    if (budget.exceeded) return n;
    if (budget.depth >= Budget::kMaxDepth || ++budget.nodes > Budget::kMaxNodes) {
        budget.exceeded = true;
        diags.error(n.mark, "the document nests too deeply or its aliases expand too far (a recursive alias?)");
        return n;
    }
    ++budget.depth;
    switch (y.Type()) {
        case YAML::NodeType::Undefined:
        case YAML::NodeType::Null:
            n.type = Node::Type::null;
            // An implicit null (`key:` and nothing) carries the next line's mark: use the key's.
            n.mark = fallback;
            break;
        case YAML::NodeType::Scalar: {
            n.type = Node::Type::scalar;
            Interpolated r = interpolate(y.Scalar(), env);
            for (auto& w : r.warnings) diags.warning(n.mark, std::move(w));
            for (auto& e : r.errors) diags.error(n.mark, std::move(e));
            n.invalid = !r.errors.empty();
            n.scalar = std::move(r.text);
            break;
        }
        case YAML::NodeType::Sequence:
            n.type = Node::Type::sequence;
            for (const auto& item : y) n.items.push_back(convert(item, n.mark, file, env, diags, budget));
            break;
        case YAML::NodeType::Map:
            n.type = Node::Type::map;
            n = convert_map(y, std::move(n), file, env, diags, budget);
            break;
    }
    --budget.depth;
    return n;
}

std::optional<Node> read_documents(std::istream& in, const std::string& file, const Environment& env,
                                   Diagnostics& diags) {
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(in);
    } catch (const YAML::ParserException& e) {
        diags.error(mark_of(e.mark, file), "YAML syntax error: " + e.msg);
        return std::nullopt;
    } catch (const YAML::Exception& e) {
        diags.error(mark_of(e.mark, file), "YAML error: " + e.msg);
        return std::nullopt;
    } catch (const std::exception& e) {  // an I/O failure while yaml-cpp reads the stream
        diags.error({file, 1, 1}, std::string("cannot read file: ") + e.what());
        return std::nullopt;
    }
    if (docs.empty() || (docs.size() == 1 && docs[0].IsNull())) {
        diags.warning({file, 1, 1}, "empty file, skipped");
        return std::nullopt;
    }
    if (docs.size() > 1) {
        diags.error(mark_of(docs[1].Mark(), file), "only one YAML document per file is allowed");
        return std::nullopt;
    }
    Budget budget;
    return convert(docs[0], {file, 1, 1}, file, env, diags, budget);
}

}  // namespace

std::optional<Node> read_yaml_file(const std::filesystem::path& file, const Environment& env, Diagnostics& diags) {
    diags.announce_file(file.string());
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) {
        diags.error({file.string(), 1, 1}, "cannot read file: it is a directory");
        return std::nullopt;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        diags.error({file.string(), 1, 1}, std::string("cannot read file: ") + std::strerror(errno));
        return std::nullopt;
    }
    return read_documents(in, file.string(), env, diags);
}

std::optional<Node> read_yaml_string(const std::string& text, const std::string& file_name, const Environment& env,
                                     Diagnostics& diags) {
    std::istringstream in(text);
    return read_documents(in, file_name, env, diags);
}

Node merge(const Node& base, const Node& overlay, const std::vector<std::string>& exclusive) {
    if (!base.is_map() || !overlay.is_map()) return overlay;
    auto is_exclusive = [&](const std::string& key) {
        return std::find(exclusive.begin(), exclusive.end(), key) != exclusive.end();
    };
    bool overlay_has_exclusive = std::any_of(overlay.entries.begin(), overlay.entries.end(),
                                             [&](const Entry& e) { return is_exclusive(e.key); });
    Node out = overlay;
    for (const auto& b : base.entries) {
        auto it = std::find_if(out.entries.begin(), out.entries.end(), [&](const Entry& e) { return e.key == b.key; });
        if (it == out.entries.end()) {
            if (!(overlay_has_exclusive && is_exclusive(b.key))) out.entries.push_back(b);
        } else if (it->value.is_map() && b.value.is_map()) {
            it->value = merge(b.value, it->value, exclusive);
        }
    }
    return out;
}

}  // namespace mainstay::config
