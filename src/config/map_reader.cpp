#include "config/map_reader.hpp"

#include <algorithm>

namespace mainstay::config {

MapReader::MapReader(const Node& map, Diagnostics& diags) : map_(map), diags_(diags) {}

const Entry* MapReader::entry(std::string_view key) {
    known_.emplace_back(key);
    return map_.entry(key);
}

const Node* MapReader::get(std::string_view key) {
    const Entry* e = entry(key);
    if (e == nullptr || e->value.is_null() || e->value.invalid) return nullptr;
    return &e->value;
}

std::optional<std::string> MapReader::scalar(std::string_view key, const Node*& node, std::string_view form) {
    node = get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_scalar()) {
        diags_.error(node->mark,
                     "'" + std::string(key) + "' must be " + std::string(form) + ", got " + describe(*node));
        return std::nullopt;
    }
    return node->scalar;
}

void MapReader::duration(std::string_view key, Duration& out) {
    std::optional<Duration> v;
    optional_duration(key, v);
    if (v) out = *v;
}

void MapReader::optional_duration(std::string_view key, std::optional<Duration>& out) {
    parsed(key, "a duration such as 500ms, 10s, 5m, 1h or 1m30s", parse_duration, out);
}

void MapReader::positive_duration(std::string_view key, Duration& out) {
    std::optional<Duration> v;
    optional_duration(key, v);
    if (v && v->count() == 0) return diags_.error(get(key)->mark, "'" + std::string(key) + "' must be more than 0s");
    if (v) out = *v;
}

void MapReader::report_not_one_of(std::string_view key, const Node& value, const std::vector<std::string>& words) {
    std::string list;
    for (const auto& w : words) list += (list.empty() ? "" : ", ") + w;
    std::string message = "'" + std::string(key) + "' must be one of " + list + ", got " + describe(value);
    if (auto near = value.is_scalar() ? nearest(value.scalar, words) : std::nullopt) {
        message += " (did you mean '" + *near + "'?)";
    }
    diags_.error(value.mark, std::move(message));
}

void MapReader::size(std::string_view key, std::uint64_t& out) {
    parsed(key, "a size such as 512KiB or 10MiB", parse_size, out);
}

void MapReader::count(std::string_view key, std::uint32_t& out, std::uint32_t min) {
    const Node* n = nullptr;
    auto text = scalar(key, n, "a whole number");
    if (!text) return;
    auto v = parse_integer(*text);
    if (!v) return diags_.error(n->mark, "'" + std::string(key) + "' must be a whole number, got '" + *text + "'");
    constexpr std::int64_t kMax = 2'147'483'647;
    if (*v.value < min || *v.value > kMax) {
        return diags_.error(n->mark, "'" + std::string(key) + "' must be from " + std::to_string(min) + " to " +
                                         std::to_string(kMax) + ", got " + std::to_string(*v.value));
    }
    out = static_cast<std::uint32_t>(*v.value);
}

void MapReader::number(std::string_view key, double& out, double min) {
    const Node* n = nullptr;
    auto text = scalar(key, n, "a number");
    if (!text) return;
    auto v = parse_number(*text);
    if (!v) return diags_.error(n->mark, "'" + std::string(key) + "' must be " + v.error);
    if (*v.value < min) {
        std::string m = std::to_string(min);
        m.erase(m.find_last_not_of('0') + 1);
        if (m.ends_with('.')) m.pop_back();
        return diags_.error(n->mark, "'" + std::string(key) + "' must be at least " + m + ", got " + *text);
    }
    out = *v.value;
}

void MapReader::boolean(std::string_view key, bool& out) {
    parsed(key, "true or false", parse_bool, out);
}

void MapReader::string(std::string_view key, std::string& out) {
    std::optional<std::string> v;
    optional_string(key, v);
    if (v) out = std::move(*v);
}

void MapReader::optional_string(std::string_view key, std::optional<std::string>& out) {
    const Node* n = nullptr;
    if (auto text = scalar(key, n, "a string")) out = *text;
}

void MapReader::optional_path(std::string_view key, std::optional<Path>& out) {
    const Node* n = nullptr;
    auto text = scalar(key, n, "a path");
    if (!text) return;
    if (text->empty()) return diags_.error(n->mark, "'" + std::string(key) + "' must be a path, got an empty string");
    out = resolve_path(*text, n->mark);
}

void MapReader::signal(std::string_view key, int& out) {
    parsed(key, "a signal such as SIGTERM", parse_signal, out);
}

void MapReader::finish() {
    for (const auto& e : map_.entries) {
        if (e.key.starts_with("x-")) continue;
        if (std::find(known_.begin(), known_.end(), e.key) != known_.end()) continue;
        std::string message = "unknown key '" + e.key + "'";
        if (auto near = nearest(e.key, known_)) message += " (did you mean '" + *near + "'?)";
        diags_.error(e.key_mark, std::move(message));
    }
}

bool expect_map(const Node& node, std::string_view key, Diagnostics& diags) {
    if (node.is_map()) return true;
    diags.error(node.mark, "'" + std::string(key) + "' must be a map, got " + describe(node));
    return false;
}

Path resolve_path(const std::string& text, const Mark& at) {
    Path p(text);
    if (p.is_absolute()) return p.lexically_normal();
    return (Path(at.file).parent_path() / p).lexically_normal();
}

std::optional<Argv> read_argv(const Node& node, std::string_view key, bool shell, Diagnostics& diags) {
    if (node.is_scalar()) {
        if (shell) return Argv{node.scalar};
        auto words = split_words(node.scalar);
        if (!words) {
            diags.error(node.mark, "'" + std::string(key) + "' must be " + words.error);
            return std::nullopt;
        }
        return *words.value;
    }
    if (node.is_sequence()) {
        if (shell) {
            diags.error(node.mark, "'" + std::string(key) + "' must be a string when 'shell: true' is set");
            return std::nullopt;
        }
        Argv argv;
        bool ok = true;
        for (const auto& item : node.items) {
            if (!item.is_scalar()) {
                diags.error(item.mark, "'" + std::string(key) + "' must be a list of strings, got " + describe(item));
                ok = false;
                continue;
            }
            argv.push_back(item.scalar);
        }
        if (!ok) return std::nullopt;
        return argv;
    }
    diags.error(node.mark, "'" + std::string(key) + "' must be a list of arguments or a string, got " + describe(node));
    return std::nullopt;
}

std::optional<Argv> read_command_argv(const Node& node, std::string_view key, bool shell, Diagnostics& diags) {
    auto argv = read_argv(node, key, shell, diags);
    if (argv && (argv->empty() || argv->front().empty())) {
        diags.error(node.mark, "'" + std::string(key) + "' must not be empty");
        return std::nullopt;
    }
    return argv;
}

bool valid_env_name(std::string_view name) {
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

bool valid_header_name(std::string_view name) {
    // An HTTP token (RFC 9110 5.6.2).
    static constexpr std::string_view kSpecial = "!#$%&'*+-.^_`|~";
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               kSpecial.find(c) != std::string_view::npos;
    });
}

std::optional<EnvVars> read_env_vars(const Node& node, std::string_view key, Diagnostics& diags) {
    return read_pairs(node, key, diags, valid_env_name, "environment variable name");
}

std::optional<EnvVars> read_pairs(const Node& node, std::string_view key, Diagnostics& diags,
                                  bool (*valid_name)(std::string_view), std::string_view what) {
    EnvVars vars;
    bool ok = true;
    auto add = [&](const std::string& name, std::string value, const Mark& at) {
        if (!valid_name(name)) {
            diags.error(at, "invalid " + std::string(what) + " '" + name + "' in '" + std::string(key) + "'");
            ok = false;
            return;
        }
        vars.emplace_back(name, std::move(value));
    };
    if (node.is_map()) {
        for (const auto& e : node.entries) {
            if (!e.value.is_scalar() && !e.value.is_null()) {
                diags.error(e.value.mark,
                            "'" + std::string(key) + "' values must be strings, got " + describe(e.value));
                ok = false;
                continue;
            }
            add(e.key, e.value.scalar, e.key_mark);
        }
    } else if (node.is_sequence()) {
        for (const auto& item : node.items) {
            auto eq = item.is_scalar() ? item.scalar.find('=') : std::string::npos;
            if (eq == std::string::npos) {
                diags.error(item.mark,
                            "'" + std::string(key) + "' list items must be KEY=VALUE, got " + describe(item));
                ok = false;
                continue;
            }
            add(item.scalar.substr(0, eq), item.scalar.substr(eq + 1), item.mark);
        }
    } else {
        diags.error(node.mark,
                    "'" + std::string(key) + "' must be a map or a list of KEY=VALUE, got " + describe(node));
        return std::nullopt;
    }
    if (!ok) return std::nullopt;
    return vars;
}

std::optional<std::vector<std::pair<std::string, Mark>>> read_string_list(const Node& node, std::string_view key,
                                                                          Diagnostics& diags) {
    std::vector<std::pair<std::string, Mark>> out;
    if (node.is_scalar()) {
        out.emplace_back(node.scalar, node.mark);
        return out;
    }
    if (!node.is_sequence()) {
        diags.error(node.mark, "'" + std::string(key) + "' must be a list of strings, got " + describe(node));
        return std::nullopt;
    }
    bool ok = true;
    for (const auto& item : node.items) {
        if (!item.is_scalar()) {
            diags.error(item.mark, "'" + std::string(key) + "' must be a list of strings, got " + describe(item));
            ok = false;
            continue;
        }
        out.emplace_back(item.scalar, item.mark);
    }
    if (!ok) return std::nullopt;
    return out;
}

}  // namespace mainstay::config
