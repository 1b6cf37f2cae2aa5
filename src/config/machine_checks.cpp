#include "config/machine_checks.hpp"

#include <unistd.h>

#include <system_error>

#include "config/credentials.hpp"

namespace mainstay::config {
namespace {

bool is_executable_file(const Path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

void check_argv(const Argv& argv, const Mark& at, const std::string& what, const Environment& env, Diagnostics& diags) {
    if (argv.empty() || find_executable(argv.front(), env)) return;
    diags.warning(at, what + "executable not found: " + argv.front());
}

}  // namespace

std::optional<Path> find_executable(const std::string& argv0, const Environment& env) {
    if (argv0.find('/') != std::string::npos) {
        if (is_executable_file(argv0)) return Path(argv0);
        return std::nullopt;
    }
    std::string path = env.get("PATH").value_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        Path candidate = Path(dir.empty() ? "." : dir) / argv0;
        if (is_executable_file(candidate)) return candidate;
        start = end + 1;
    }
    return std::nullopt;
}

void check_machine(const Config& config, const Environment& env, Diagnostics& diags) {
    for (const auto& s : config.services) {
        if (!s.enabled) continue;
        if (!s.shell) check_argv(s.command, s.command_mark, "", env, diags);
        if ((s.user || s.group) && !s.credentials) {
            // Looked up again for the message: the loader keeps only what resolved.
            CredentialsLookup lookup = resolve_credentials(s.user, s.group);
            if (lookup.unknown_user) diags.warning(s.user_mark, "unknown user: " + *lookup.unknown_user);
            if (lookup.unknown_group) diags.warning(s.group_mark, "unknown group: " + *lookup.unknown_group);
        }
        if (s.working_dir) {
            std::error_code ec;
            if (!std::filesystem::is_directory(*s.working_dir, ec)) {
                diags.warning(s.working_dir_mark, "working directory not found: " + s.working_dir->string());
            }
        }
    }
}

}  // namespace mainstay::config
