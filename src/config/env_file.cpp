#include "config/env_file.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/map_reader.hpp"
#include "config/values.hpp"

namespace mainstay::config {

namespace {
constexpr std::uintmax_t kMaxEnvFileBytes = 1024 * 1024;
}  // namespace

bool read_env_file(const Path& file, const Mark& referenced_at, EnvVars& out, Diagnostics& diags) {
    diags.announce_file(file.string());
    // Only a regular file is opened: /dev/zero would be read for ever, a FIFO would block the
    // load until something writes to it. (A symlink to a regular file is fine.)
    std::error_code ec;
    const auto status = std::filesystem::status(file, ec);
    if (!ec && status.type() != std::filesystem::file_type::regular) {
        diags.error(referenced_at,
                    "cannot read env_file " + file.string() + ": it is " + std::string(file_type_name(status.type())));
        return false;
    }
    if (!ec && std::filesystem::file_size(file, ec) > kMaxEnvFileBytes) {
        diags.error(referenced_at, "cannot read env_file " + file.string() + ": larger than 1 MiB");
        return false;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        diags.error(referenced_at, "cannot read env_file " + file.string() + ": " + std::strerror(errno));
        return false;
    }
    std::stringstream text;
    text << in.rdbuf();
    parse_env_text(text.str(), file.string(), out, diags);
    return true;
}

void parse_env_text(const std::string& text, const std::string& file_name, EnvVars& out, Diagnostics& diags) {
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;
        std::string_view rest = std::string_view(line).substr(start);
        if (rest.starts_with("export ")) rest.remove_prefix(7);
        auto eq = rest.find('=');
        std::string name(rest.substr(0, eq));
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
        if (eq == std::string_view::npos || !valid_env_name(name)) {
            diags.error({file_name, number, static_cast<int>(start) + 1}, "expected KEY=VALUE");
            continue;
        }
        std::string_view raw = rest.substr(eq + 1);
        while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.remove_prefix(1);
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
        std::string value;
        if (raw.find('\0') != std::string_view::npos) {
            diags.error({file_name, number, static_cast<int>(start) + 1}, "a NUL byte in the value of " + name);
            continue;
        }
        const bool opens = !raw.empty() && (raw.front() == '\'' || raw.front() == '"');
        if (opens && (raw.size() < 2 || raw.back() != raw.front())) {
            diags.error({file_name, number, static_cast<int>(start) + 1},
                        "unterminated quote in the value of " + name + " (values span one line)");
            continue;
        }
        if (raw.size() >= 2 && raw.front() == '\'' && raw.back() == '\'') {
            value = raw.substr(1, raw.size() - 2);
        } else if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
            raw = raw.substr(1, raw.size() - 2);
            for (std::size_t i = 0; i < raw.size(); ++i) {
                if (raw[i] == '\\' && i + 1 < raw.size()) {
                    char next = raw[++i];
                    value += next == 'n' ? '\n' : next;
                } else {
                    value += raw[i];
                }
            }
        } else {
            // Unquoted: surrounding blanks go, and so does a ` #` comment (as docker compose does).
            auto comment = raw.find(" #");
            if (comment != std::string_view::npos) raw = raw.substr(0, comment);
            auto first = raw.find_first_not_of(" \t");
            auto last = raw.find_last_not_of(" \t");
            value = first == std::string_view::npos ? "" : std::string(raw.substr(first, last - first + 1));
        }
        out.emplace_back(std::move(name), std::move(value));
    }
}

}  // namespace mainstay::config
