#include "config/loader.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <system_error>

#include "config/credentials.hpp"
#include "config/graph.hpp"
#include "config/map_reader.hpp"
#include "config/service_loader.hpp"
#include "config/tree.hpp"
#include "config/values.hpp"

namespace mainstay::config {

namespace {

bool is_ip_or_localhost(const std::string& host) {
    std::string literal = host;
    if (literal.size() >= 2 && literal.front() == '[' && literal.back() == ']')
        literal = literal.substr(1, literal.size() - 2);
    unsigned char buf[sizeof(in6_addr)];
    return host == "localhost" || ::inet_pton(AF_INET, literal.c_str(), buf) == 1 ||
           ::inet_pton(AF_INET6, literal.c_str(), buf) == 1;
}

}  // namespace
namespace {

namespace fs = std::filesystem;

void read_main(const Node& root, MainConfig& main, const Node*& defaults, Diagnostics& diags) {
    if (!root.is_map()) {
        diags.error(root.mark, "the main configuration must be a map of keys, got " + describe(root));
        return;
    }
    MapReader r(root, diags);
    std::optional<Path> services_dir;
    r.optional_path("services_dir", services_dir);
    if (services_dir) main.services_dir = *services_dir;

    if (const Node* log = r.get("log"); log && expect_map(*log, "log", diags)) {
        MapReader v(*log, diags);
        v.enumeration("level", main.log.level, kLogLevels);
        v.optional_path("file", main.log.file);
        v.size("max_size", main.log.max_size);
        if (main.log.max_size == 0) diags.error(v.get("max_size")->mark, "'max_size' must be more than 0 bytes");
        v.count("max_files", main.log.max_files, 1);
        v.enumeration("format", main.log.format, {{"text", LogFormat::text}, {"json", LogFormat::json}});
        v.enumeration("forward", main.log.forward,
                      {{"none", LogForward::none}, {"syslog", LogForward::syslog}, {"journald", LogForward::journald}});
        v.finish();
    }
    if (const Node* status = r.get("status"); status && expect_map(*status, "status", diags)) {
        MapReader v(*status, diags);
        std::optional<Path> file, socket;
        v.optional_path("file", file);
        v.optional_path("socket", socket);
        if (file) main.status.file = *file;
        if (socket) main.status.socket = *socket;
        if (const Node* http = v.get("http")) {
            auto hp = http->is_scalar() ? parse_host_port(http->scalar)
                                        : Parsed<HostPort>::fail("host:port, got " + describe(*http));
            if (hp && !is_ip_or_localhost(hp.value->host)) {
                // What `run` can listen on (report/http_server): an address, not a name to resolve.
                diags.error(http->mark,
                            "'http' must name an IP address or localhost to listen on, got '" + hp.value->host + "'");
            } else if (hp) {
                main.status.http = *hp.value;
            } else {
                diags.error(http->mark, "'http' must be " + hp.error);
            }
            if (hp && (hp.value->host == "0.0.0.0" || hp.value->host == "::")) {
                diags.warning(http->mark, "status over HTTP on every interface (" + hp.value->host +
                                              "): anyone who can reach this machine can read /status, /events and "
                                              "/metrics (127.0.0.1 keeps it to this machine)");
            }
        }
        v.duration("print_interval", main.status.print_interval);
        v.enumeration("ready_when", main.status.ready_when,
                      {{"degraded", ReadyWhen::degraded}, {"full", ReadyWhen::full}});
        v.finish();
    }
    if (const Node* startup = r.get("startup"); startup && expect_map(*startup, "startup", diags)) {
        MapReader v(*startup, diags);
        v.duration("timeout", main.startup_timeout);
        v.finish();
    }
    r.enumeration("on_critical_failure", main.on_critical_failure,
                  {{"degrade", CriticalFailure::degrade}, {"exit", CriticalFailure::exit}});
    if (const Node* shutdown = r.get("shutdown"); shutdown && expect_map(*shutdown, "shutdown", diags)) {
        MapReader v(*shutdown, diags);
        v.duration("timeout", main.shutdown_timeout);
        v.finish();
    }
    if (const Node* d = r.get("defaults"); d && expect_map(*d, "defaults", diags)) {
        defaults = d;
        validate_defaults(*d, diags);
    }
    r.finish();
}

// Every *.yaml and *.yml of `dir` that is a regular file, in name order.
std::vector<fs::path> service_files(const fs::path& dir, const Mark& named_at, bool named, Diagnostics& diags) {
    std::vector<fs::path> files;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        if (named)
            diags.error(named_at, "services directory not found: " + dir.string());
        else
            diags.warning(named_at, "no services directory at " + dir.string() + "; no services to run");
        return files;
    }
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto ext = it->path().extension();
        if (ext == ".yaml" || ext == ".yml") files.push_back(it->path().lexically_normal());
    }
    if (ec) diags.error(named_at, "cannot list services directory " + dir.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    // Only regular files are opened (a symlink to one is fine): opening a FIFO would block the
    // load for ever. A dangling symlink stays, to be reported as unreadable like any such file.
    std::erase_if(files, [&](const fs::path& file) {
        std::error_code status_ec;
        const fs::file_type type = fs::status(file, status_ec).type();
        if (status_ec || type == fs::file_type::regular || type == fs::file_type::not_found) return false;
        diags.announce_file(file.string());
        diags.warning({file.string(), 1, 1}, "not a regular file: skipped (" + std::string(file_type_name(type)) + ")");
        return true;
    });
    return files;
}

// `unreadable`: stems of service files that could not be parsed. Their services are unknown, so
// naming them is not reported again as an unknown dependency.
void check_across_files(Config& config, const std::vector<std::string>& unreadable, Diagnostics& diags) {
    // Duplicate names: services and capabilities share one namespace.
    std::vector<std::pair<std::string, Mark>> seen;
    auto claim = [&](const std::string& name, const Mark& at) {
        auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == name; });
        if (it != seen.end()) {
            diags.error(at, "duplicate service name '" + name + "' (first defined in " + it->second.file + ")");
            return false;
        }
        seen.emplace_back(name, at);
        return true;
    };
    std::erase_if(config.services, [&](const ServiceSpec& s) { return !claim(s.name, s.name_mark); });
    std::erase_if(config.capabilities, [&](const CapabilitySpec& c) { return !claim(c.name, c.name_mark); });

    auto unknown = [&](const std::string& name, const std::string& self, const Mark& at, std::string message) {
        if (std::find(unreadable.begin(), unreadable.end(), name) != unreadable.end()) return;
        std::vector<std::string> names;
        for (const auto& o : config.services) {
            if (o.name != self) names.push_back(o.name);
        }
        if (auto near = nearest(name, names)) message += " (did you mean '" + *near + "'?)";
        diags.error(at, std::move(message));
    };
    for (const auto& s : config.services) {
        for (const auto& dep : s.depends_on) {
            const ServiceSpec* target = config.find_service(dep.name);
            if (target == nullptr) {
                bool is_capability = std::any_of(config.capabilities.begin(), config.capabilities.end(),
                                                 [&](const CapabilitySpec& c) { return c.name == dep.name; });
                if (is_capability) {
                    diags.error(dep.mark, "'" + dep.name + "' is a capability; services can depend only on services");
                } else {
                    unknown(dep.name, s.name, dep.mark, "unknown dependency '" + dep.name + "'");
                }
            } else if (dep.condition == Condition::completed && target->kind != Kind::oneshot) {
                diags.error(dep.mark, "condition 'completed' needs '" + dep.name +
                                          "' to be a oneshot service, it is a " + std::string(to_string(target->kind)) +
                                          " service");
            } else if (!target->enabled && s.enabled && dep.required) {
                diags.warning(dep.mark, "'" + dep.name + "' is disabled: '" + s.name + "' will stay blocked");
            }
        }
    }
    for (const auto& c : config.capabilities) {
        for (const auto& tier : c.chain()) {
            const std::string whose = c.tiers.empty() ? "capability '" + c.name + "'"
                                                      : "tier '" + tier.name + "' of capability '" + c.name + "'";
            for (std::size_t i = 0; i < tier.requires_services.size(); ++i) {
                if (config.find_service(tier.requires_services[i]) == nullptr) {
                    unknown(tier.requires_services[i], c.name, tier.requires_marks[i],
                            whose + " requires unknown service '" + tier.requires_services[i] + "'");
                }
            }
        }
    }
    for (const auto& cycle : DependencyGraph(config.services).cycles()) {
        std::string path;
        for (const auto& n : cycle.path) path += (path.empty() ? "" : " -> ") + n;
        diags.error(cycle.closing.mark, "dependency cycle: " + path);
    }
}

// A service's own log (`<dir of log.file>/<name>.log`) must not be mainstay's: a service named
// like log.file's stem would write its lines into mainstay's log, and rotate it.
void check_service_logs(const Config& config, Diagnostics& diags) {
    if (!config.main.log.file) return;
    const Path own = config.main.log.file->lexically_normal();
    for (const auto& s : config.services) {
        if (s.kind == Kind::external && !s.wake) continue;  // starts nothing, so writes no log
        const Path service_log = *service_log_file(config.main.log, s.name);
        if (service_log.lexically_normal() != own) continue;
        diags.error(s.name_mark, "the output log of service '" + s.name + "' (" + service_log.string() +
                                     ") would be mainstay's own log file (log.file: " + config.main.log.file->string() +
                                     "): rename the service or change log.file");
    }
}

}  // namespace

const ServiceSpec* Config::find_service(std::string_view name) const {
    auto it = std::find_if(services.begin(), services.end(), [&](const ServiceSpec& s) { return s.name == name; });
    return it == services.end() ? nullptr : &*it;
}

LoadResult load(const LoadOptions& options) {
    LoadResult result;
    Diagnostics& diags = result.diagnostics;
    Config config;
    config.main.file = options.config_file.lexically_normal();
    const std::string main_file = config.main.file.string();
    config.main.services_dir = (config.main.file.parent_path() / "services.d").lexically_normal();

    auto root = read_yaml_file(config.main.file, options.env, diags);
    const Node* defaults = nullptr;
    bool services_dir_named = false;
    Mark services_dir_mark{main_file, 1, 1};
    if (root) {
        read_main(*root, config.main, defaults, diags);
        if (const Node* sd = root->is_map() ? root->find("services_dir") : nullptr) {
            services_dir_named = true;
            services_dir_mark = sd->mark;
        }
    } else if (diags.has_errors()) {
        return result;  // the main file cannot be read: nothing else can be found
    }
    if (options.services_dir) {
        config.main.services_dir = options.services_dir->lexically_normal();
        services_dir_named = true;
        services_dir_mark = {config.main.services_dir.string(), 0, 0};
    }
    if (options.log_level) {
        auto it = std::find_if(kLogLevels.begin(), kLogLevels.end(),
                               [&](const auto& l) { return l.first == *options.log_level; });
        if (it != kLogLevels.end())
            config.main.log.level = it->second;
        else
            diags.error({"--log-level", 0, 0},
                        "must be one of trace, debug, info, warn, error, got '" + *options.log_level + "'");
    }

    if (options.main_only) {
        if (!diags.has_errors()) result.config = std::move(config);
        return result;
    }
    std::vector<std::string> unreadable;
    for (const auto& file : service_files(config.main.services_dir, services_dir_mark, services_dir_named, diags)) {
        std::size_t errors_before = diags.error_count();
        if (auto tree = read_yaml_file(file, options.env, diags))
            read_service_file(*tree, file, defaults, diags, config);
        else if (diags.error_count() != errors_before)
            unreadable.push_back(file.stem().string());
    }
    check_across_files(config, unreadable, diags);
    check_service_logs(config, diags);
    if (diags.has_errors()) return result;
    // Names are looked up once, here, not at every start. One that does not resolve yet is no
    // error (a package may create the user later): `check` warns, the runtime tries again.
    for (auto& s : config.services) s.credentials = resolve_credentials(s.user, s.group).credentials;
    result.config = std::move(config);
    return result;
}

std::optional<fs::path> find_config_file(const std::optional<fs::path>& explicit_file, const Environment& env,
                                         std::vector<std::string>& tried, bool with_local_file) {
    if (explicit_file) return explicit_file;
    if (auto from_env = env.get("MAINSTAY_CONFIG"); from_env && !from_env->empty()) return fs::path(*from_env);
    std::error_code ec;
    for (const char* candidate : {"config/mainstay.yaml", "mainstay.yaml", "/etc/mainstay/mainstay.yaml"}) {
        if (!with_local_file && std::string_view(candidate) == "mainstay.yaml") continue;
        tried.emplace_back(candidate);
        if (fs::exists(candidate, ec)) return fs::path(candidate);
    }
    return std::nullopt;
}

}  // namespace mainstay::config
