#include "config/diff.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace mainstay::config {
namespace {

// Each same() below opens with a structured binding that names every member of its struct. It
// compiles only while the count matches, so a member added to the schema breaks the build here
// until it is compared (or the comment says why it is not).

bool same_path(const Path& a, const Path& b) {
    return a.lexically_normal() == b.lexically_normal();
}

bool same_path(const std::optional<Path>& a, const std::optional<Path>& b) {
    return a.has_value() == b.has_value() && (!a || same_path(*a, *b));
}

// A list whose order does nothing, as a set.
template <class T>
std::vector<T> as_set(std::vector<T> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

bool same(const ExecProbe& a, const ExecProbe& b) {
    return a == b;
}
bool same(const TcpProbe& a, const TcpProbe& b) {
    return a == b;
}

bool same(const HttpProbe& a, const HttpProbe& b) {
    [[maybe_unused]] const auto& [url, target, method, status, headers, unix_socket, body_contains, permanent_status] =
        a;
    // `url` is the spelling, for messages; `target` is what is requested.
    return a.target == b.target && a.method == b.method && a.status == b.status &&
           as_set(a.headers) == as_set(b.headers) && same_path(a.unix_socket, b.unix_socket) &&
           a.body_contains == b.body_contains && as_set(a.permanent_status) == as_set(b.permanent_status);
}

bool same(const ProbeHandler& a, const ProbeHandler& b) {
    if (a.index() != b.index()) return false;
    return std::visit([&](const auto& x) { return same(x, std::get<std::decay_t<decltype(x)>>(b)); }, a);
}

bool same(const ProbeSpec& a, const ProbeSpec& b) {
    [[maybe_unused]] const auto& [handler, initial_delay, interval, startup_interval, timeout, thresholds, mark] = a;
    return same(a.handler, b.handler) && a.initial_delay == b.initial_delay && a.interval == b.interval &&
           a.startup_interval == b.startup_interval && a.timeout == b.timeout && a.thresholds == b.thresholds;
}

template <class T>
bool same_optional(const std::optional<T>& a, const std::optional<T>& b) {
    return a.has_value() == b.has_value() && (!a || same(*a, *b));
}

template <class T>
bool same_optional(const Boxed<T>& a, const Boxed<T>& b) {
    return a.has_value() == b.has_value() && (!a || same(*a, *b));
}

bool same(const ProbesSpec& a, const ProbesSpec& b) {
    [[maybe_unused]] const auto& [startup, readiness, liveness] = a;
    return same_optional(a.startup, b.startup) && same_optional(a.readiness, b.readiness) &&
           same_optional(a.liveness, b.liveness);
}

// Keyed by name: the order of `depends_on` entries does nothing.
std::vector<std::tuple<std::string, Condition, bool, bool>> edges(const std::vector<Dependency>& deps) {
    std::vector<std::tuple<std::string, Condition, bool, bool>> out;
    for (const auto& d : deps) {
        [[maybe_unused]] const auto& [name, condition, required, mark, restart] = d;
        out.emplace_back(d.name, d.condition, d.required, d.restart);
    }
    return as_set(std::move(out));
}

bool same(const RestartSpec& a, const RestartSpec& b) {
    [[maybe_unused]] const auto& [policy, backoff, reset_after, permanent_exit_codes, circuit_breaker] = a;
    return a.policy == b.policy && a.backoff == b.backoff && a.reset_after == b.reset_after &&
           as_set(a.permanent_exit_codes) == as_set(b.permanent_exit_codes) && a.circuit_breaker == b.circuit_breaker;
}

// `limits: {}` sets nothing, like no `limits`.
bool same(const std::optional<LimitsSpec>& a, const std::optional<LimitsSpec>& b) {
    const LimitsSpec none;
    const LimitsSpec& x = a ? *a : none;
    const LimitsSpec& y = b ? *b : none;
    [[maybe_unused]] const auto& [memory, cpu, pids, mark] = x;
    return x.memory == y.memory && x.cpu == y.cpu && x.pids == y.pids;
}

// What the child's environment gets from the service: env_file's variables, then
// `environment`'s, the last of a name winning (runtime/spawner's EnvBlock does the same).
std::map<std::string, std::string> effective_environment(const ServiceSpec& s) {
    std::map<std::string, std::string> env;
    for (const auto& [k, v] : s.env_file_vars) env[k] = v;
    for (const auto& [k, v] : s.environment) env[k] = v;
    return env;
}

void compare_main(const MainConfig& a, const MainConfig& b, ConfigDiff& d) {
    [[maybe_unused]] const auto& [file, services_dir, log, status, startup_timeout, on_critical_failure,
                                  shutdown_timeout] = a;
    [[maybe_unused]] const auto& [level, forward, log_file, max_size, max_files, format] = a.log;
    [[maybe_unused]] const auto& [status_file, socket, http, print_interval, ready_when] = a.status;
    // `file` is the one the reload read again, the same by definition.
    d.log_level_changed = a.log.level != b.log.level;
    d.print_interval_changed = a.status.print_interval != b.status.print_interval;
    d.ready_when_changed = a.status.ready_when != b.status.ready_when;
    d.http_changed = a.status.http != b.status.http;
    d.services_dir_changed = !same_path(a.services_dir, b.services_dir);
    auto restart_if = [&](bool changed, const char* key) {
        if (changed) d.needs_restart.emplace_back(key);
    };
    restart_if(!same_path(a.log.file, b.log.file), "log.file");
    restart_if(a.log.max_size != b.log.max_size, "log.max_size");
    restart_if(a.log.max_files != b.log.max_files, "log.max_files");
    restart_if(a.log.format != b.log.format, "log.format");
    restart_if(a.log.forward != b.log.forward, "log.forward");
    restart_if(!same_path(a.status.file, b.status.file), "status.file");
    restart_if(!same_path(a.status.socket, b.status.socket), "status.socket");
    restart_if(a.startup_timeout != b.startup_timeout, "startup.timeout");
    restart_if(a.on_critical_failure != b.on_critical_failure, "on_critical_failure");
    restart_if(a.shutdown_timeout != b.shutdown_timeout, "shutdown.timeout");
}

struct Lists {
    std::vector<std::string>& added;
    std::vector<std::string>& removed;
    std::vector<std::string>& changed;
    std::vector<std::string>& unchanged;
};

template <class Spec>
void compare(const std::vector<Spec>& before, const std::vector<Spec>& after, Lists out) {
    std::unordered_map<std::string_view, const Spec*> old;
    for (const auto& s : before) old.emplace(s.name, &s);
    std::unordered_set<std::string_view> kept;
    for (const auto& s : after) {
        auto it = old.find(s.name);
        if (it == old.end()) {
            out.added.push_back(s.name);
            continue;
        }
        kept.insert(s.name);
        (same(*it->second, s) ? out.unchanged : out.changed).push_back(s.name);
    }
    for (const auto& s : before) {
        if (!kept.contains(s.name)) out.removed.push_back(s.name);
    }
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

// "1 added (web), 2 changed (api, db), 3 unchanged": the counts that are not zero.
std::string counts(const std::vector<std::string>& added, const std::vector<std::string>& removed,
                   const std::vector<std::string>& changed, std::size_t unchanged) {
    std::vector<std::string> parts;
    auto named = [&](const std::vector<std::string>& names, const char* what) {
        if (!names.empty()) parts.push_back(std::to_string(names.size()) + " " + what + " (" + join(names) + ")");
    };
    named(added, "added");
    named(removed, "removed");
    named(changed, "changed");
    if (unchanged > 0) parts.push_back(std::to_string(unchanged) + " unchanged");
    return join(parts);
}

std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

namespace {
void forget(Mark& m) {
    std::string().swap(m.file);  // clear() would keep the allocation
    m.line = 0;
    m.col = 0;
}
}  // namespace

ServiceSpec without_positions(ServiceSpec spec) {
    for (Mark* m : {&spec.name_mark, &spec.command_mark, &spec.working_dir_mark, &spec.user_mark, &spec.group_mark}) {
        forget(*m);
    }
    for (auto* p : {&spec.probes.startup, &spec.probes.readiness, &spec.probes.liveness}) {
        if (*p) forget((*p)->mark);
    }
    for (auto& d : spec.depends_on) forget(d.mark);
    if (spec.limits) forget(spec.limits->mark);
    return spec;
}

bool same(const ServiceSpec& a, const ServiceSpec& b) {
    [[maybe_unused]] const auto& [name, description, kind, command, shell, working_dir, env_files, env_file_vars,
                                  environment, user, group, credentials, critical, enabled, ready_after, timeout,
                                  forward_signals, success_exit_codes, ready, on_success, on_failure, depends_on,
                                  probes, restart, recovery, stop, limits, output, wake, source, name_mark,
                                  command_mark, working_dir_mark, user_mark, group_mark] = a;
    // Not compared: `description` (changes no process); `env_files` (read at load time: their
    // contents are in env_file_vars); `credentials` (follow from user and group); `source` and
    // the marks (where it was written).
    return a.name == b.name && a.kind == b.kind && a.command == b.command && a.shell == b.shell &&
           same_path(a.working_dir, b.working_dir) && effective_environment(a) == effective_environment(b) &&
           a.user == b.user && a.group == b.group && a.critical == b.critical && a.enabled == b.enabled &&
           a.ready_after == b.ready_after && a.timeout == b.timeout &&
           as_set(a.forward_signals) == as_set(b.forward_signals) &&
           as_set(a.success_exit_codes) == as_set(b.success_exit_codes) && a.ready == b.ready &&
           a.on_success == b.on_success && a.on_failure == b.on_failure && edges(a.depends_on) == edges(b.depends_on) &&
           same(a.probes, b.probes) && same(a.restart, b.restart) && a.recovery == b.recovery && a.stop == b.stop &&
           same(a.limits, b.limits) && a.output == b.output && a.wake == b.wake;
}

bool same(const TierSpec& a, const TierSpec& b) {
    [[maybe_unused]] const auto& [name, name_mark, requires_services, requires_marks, check, activate, deactivate] = a;
    return a.name == b.name && as_set(a.requires_services) == as_set(b.requires_services) &&
           same_optional(a.check, b.check) && a.activate == b.activate && a.deactivate == b.deactivate;
}

bool same(const CapabilitySpec& a, const CapabilitySpec& b) {
    [[maybe_unused]] const auto& [name, description, enabled, requires_services, requires_marks, check, activate,
                                  deactivate, tiers, hook_retry, permanent_exit_codes, monitor_interval, source,
                                  name_mark] = a;
    // Not compared: `description`, `source` and the marks, as for services. The order of the
    // tiers is what they mean: compared in order.
    const auto ca = a.chain();
    const auto cb = b.chain();
    return a.name == b.name && a.enabled == b.enabled &&
           std::equal(ca.begin(), ca.end(), cb.begin(), cb.end(),
                      [](const TierSpec& x, const TierSpec& y) { return same(x, y); }) &&
           a.hook_retry == b.hook_retry && as_set(a.permanent_exit_codes) == as_set(b.permanent_exit_codes) &&
           a.monitor_interval == b.monitor_interval;
}

ConfigDiff diff(const Config& before, const Config& after) {
    ConfigDiff d;
    compare_main(before.main, after.main, d);
    compare(before.services, after.services,
            {d.added_services, d.removed_services, d.changed_services, d.unchanged_services});
    compare(before.capabilities, after.capabilities,
            {d.added_capabilities, d.removed_capabilities, d.changed_capabilities, d.unchanged_capabilities});
    return d;
}

bool ConfigDiff::empty() const {
    return added_services.empty() && removed_services.empty() && changed_services.empty() &&
           added_capabilities.empty() && removed_capabilities.empty() && changed_capabilities.empty() &&
           applied().empty() && needs_restart.empty();
}

std::vector<std::string> ConfigDiff::applied() const {
    std::vector<std::string> keys;
    if (services_dir_changed) keys.emplace_back("services_dir");
    if (log_level_changed) keys.emplace_back("log.level");
    if (http_changed) keys.emplace_back("status.http");
    if (print_interval_changed) keys.emplace_back("status.print_interval");
    if (ready_when_changed) keys.emplace_back("status.ready_when");
    return keys;
}

std::string describe(const ConfigDiff& d) {
    if (d.empty()) {
        return "reload: nothing changed (" + plural(d.unchanged_services.size(), "service", "services") + ", " +
               plural(d.unchanged_capabilities.size(), "capability", "capabilities") + ")";
    }
    std::vector<std::string> parts;
    std::string services =
        counts(d.added_services, d.removed_services, d.changed_services, d.unchanged_services.size());
    if (!services.empty()) parts.push_back(std::move(services));
    if (!d.added_capabilities.empty() || !d.removed_capabilities.empty() || !d.changed_capabilities.empty()) {
        parts.push_back("capabilities: " + counts(d.added_capabilities, d.removed_capabilities, d.changed_capabilities,
                                                  d.unchanged_capabilities.size()));
    }
    if (auto applied = d.applied(); !applied.empty()) parts.push_back(join(applied) + " applied");
    if (!d.needs_restart.empty()) parts.push_back("needs a restart: " + join(d.needs_restart));
    std::string out = "reload: ";
    for (std::size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? "" : "; ") + parts[i];
    return out;
}

nlohmann::json to_json(const ConfigDiff& d) {
    auto lists = [](const auto& added, const auto& removed, const auto& changed, const auto& unchanged) {
        return nlohmann::json{{"added", added}, {"removed", removed}, {"changed", changed}, {"unchanged", unchanged}};
    };
    return {{"services", lists(d.added_services, d.removed_services, d.changed_services, d.unchanged_services)},
            {"capabilities",
             lists(d.added_capabilities, d.removed_capabilities, d.changed_capabilities, d.unchanged_capabilities)},
            {"applied", d.applied()},
            {"needs_restart", d.needs_restart}};
}

}  // namespace mainstay::config
