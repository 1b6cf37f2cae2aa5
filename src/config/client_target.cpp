#include "config/client_target.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config/schema.hpp"

namespace mainstay::config {
namespace {

// The first `lines` lines of `text`.
std::string first_lines(const std::string& text, int lines) {
    std::size_t at = 0;
    for (int i = 0; i < lines && at != std::string::npos; ++i) {
        at = text.find('\n', at);
        if (at != std::string::npos) ++at;
    }
    return at == std::string::npos ? text : text.substr(0, at);
}

// The document of `text`, or of the longest start of it that parses: a syntax error on line N
// leaves lines 1..N-1, tried again (bounded: each try is shorter).
std::optional<YAML::Node> lenient_load(std::string text) {
    for (int tries = 0; tries < 64; ++tries) {
        try {
            return YAML::Load(text);
        } catch (const YAML::Exception& e) {
            // The lines before the error's (0-based; -1 when unknown), or at the end of the
            // text (an unclosed bracket), all but the last.
            const auto lines =
                static_cast<int>(std::count(text.begin(), text.end(), '\n') + (text.ends_with('\n') ? 0 : 1));
            const int keep = std::min(e.mark.line, lines - 1);
            if (keep <= 0) return std::nullopt;
            std::string shorter = first_lines(text, keep);
            if (shorter.size() >= text.size()) return std::nullopt;
            text = std::move(shorter);
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<ClientTarget> read_client_target(const std::filesystem::path& file, const Environment& env,
                                               std::string& error) {
    std::ifstream in(file);
    if (!in) {
        error = "cannot read " + file.string();
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    ClientTarget target;
    StatusSpec defaults;
    target.socket = defaults.socket;
    target.status_file = defaults.file;
    const auto doc = lenient_load(text.str());
    if (!doc || !doc->IsMap()) return target;  // nothing readable: the defaults
    const YAML::Node status = (*doc)["status"];
    if (!status || !status.IsMap()) return target;
    auto path_of = [&](const char* key, std::filesystem::path& out) {
        const YAML::Node value = status[key];
        if (!value || !value.IsScalar()) return true;
        const Interpolated p = interpolate(value.Scalar(), env);
        if (!p.errors.empty() || p.text.empty()) {
            error = file.string() + ":" + std::to_string(value.Mark().line + 1) + ":" +
                    std::to_string(value.Mark().column + 1) + ": status." + key + ": " +
                    (p.errors.empty() ? std::string("empty") : p.errors.front());
            return false;
        }
        std::filesystem::path path(p.text);
        out = path.is_absolute() ? path.lexically_normal() : (file.parent_path() / path).lexically_normal();
        return true;
    };
    if (!path_of("socket", target.socket)) return std::nullopt;
    std::filesystem::path status_file = *target.status_file;
    if (!path_of("file", status_file))
        target.status_file.reset();  // only the socket is needed
    else
        target.status_file = status_file;
    error.clear();
    return target;
}

}  // namespace mainstay::config
