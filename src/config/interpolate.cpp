#include "config/interpolate.hpp"

#include <unistd.h>

namespace mainstay::config {

Environment Environment::from_process() {
    Environment env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view entry(*e);
        auto eq = entry.find('=');
        if (eq == std::string_view::npos) continue;
        env.set(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
    return env;
}

std::optional<std::string> Environment::get(std::string_view name) const {
    auto it = vars_.find(name);
    if (it == vars_.end()) return std::nullopt;
    return it->second;
}

namespace {

bool is_name_char(char c, bool first) {
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    return alpha || (!first && c >= '0' && c <= '9');
}

// Defaults nested deeper than this are refused: each level is a recursion (and a scan of the
// rest of the value), and a file of 20,000 nested `${A:-...}` must get an error, not a stack
// overflow.
constexpr int kMaxNesting = 32;

Interpolated interpolate_at(std::string_view text, const Environment& env, int nesting);

// Expands the inside of one `${...}`.
void expand(std::string_view inner, const Environment& env, Interpolated& out, int nesting) {
    std::size_t n = 0;
    while (n < inner.size() && is_name_char(inner[n], n == 0)) ++n;
    std::string_view name = inner.substr(0, n);
    std::string_view op = inner.substr(n);
    if (name.empty()) {
        out.errors.push_back("invalid interpolation '${" + std::string(inner) + "}': expected a variable name");
        return;
    }
    auto value = env.get(name);
    bool colon = op.starts_with(":");
    std::string_view rest = colon ? op.substr(1) : op;
    bool missing = !value || (colon && value->empty());
    if (op.empty()) {
        if (!value) out.warnings.push_back("variable " + std::string(name) + " is not set; using an empty string");
        out.text += value.value_or("");
    } else if (rest.starts_with("-")) {
        if (!missing) {
            out.text += *value;
            return;
        }
        Interpolated fallback = interpolate_at(rest.substr(1), env, nesting + 1);  // defaults may nest ${...}
        out.text += fallback.text;
        out.warnings.insert(out.warnings.end(), fallback.warnings.begin(), fallback.warnings.end());
        out.errors.insert(out.errors.end(), fallback.errors.begin(), fallback.errors.end());
    } else if (rest.starts_with("?")) {
        if (missing) {
            std::string why(rest.substr(1));
            out.errors.push_back("variable " + std::string(name) + " is required" +
                                 (why.empty() ? std::string(colon ? " (unset or empty)" : " (unset)") : ": " + why));
        } else {
            out.text += *value;
        }
    } else {
        out.errors.push_back("invalid interpolation '${" + std::string(inner) +
                             "}': expected ${VAR}, ${VAR:-default}, ${VAR-default} or ${VAR:?message}");
    }
}

Interpolated interpolate_at(std::string_view text, const Environment& env, int nesting) {
    Interpolated out;
    if (nesting > kMaxNesting) {
        out.errors.push_back("interpolation nested more than " + std::to_string(kMaxNesting) + " levels deep");
        return out;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '$' || i + 1 >= text.size()) {
            out.text += c;
        } else if (text[i + 1] == '$') {
            out.text += '$';
            ++i;
        } else if (text[i + 1] == '{') {
            // Find the matching brace; defaults may themselves contain braces only if balanced.
            std::size_t depth = 1, j = i + 2;
            for (; j < text.size() && depth > 0; ++j) {
                if (text[j] == '{')
                    ++depth;
                else if (text[j] == '}')
                    --depth;
            }
            if (depth != 0) {
                out.errors.push_back("unterminated '${' in '" + std::string(text) + "'");
                return out;
            }
            expand(text.substr(i + 2, j - i - 3), env, out, nesting);
            i = j - 1;
        } else {
            out.text += c;
        }
    }
    return out;
}

}  // namespace

Interpolated interpolate(std::string_view text, const Environment& env) {
    return interpolate_at(text, env, 0);
}

}  // namespace mainstay::config
