#include "config/service_loader.hpp"

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdlib>
#include <regex>
#include <set>

#include "config/env_file.hpp"
#include "config/map_reader.hpp"
#include "config/probe_loader.hpp"
#include "config/service_parts.hpp"

namespace mainstay::config {
namespace {

using Keys = std::vector<std::string>;

const Keys kProcessKeys{"name",
                        "description",
                        "kind",
                        "command",
                        "shell",
                        "working_dir",
                        "environment",
                        "env_file",
                        "user",
                        "group",
                        "critical",
                        "enabled",
                        "ready_after",
                        "depends_on",
                        "probes",
                        "restart",
                        "recovery",
                        "stop",
                        "limits",
                        "output",
                        "forward_signals",
                        "success_exit_codes",
                        "on_exit",
                        "ready"};
// A oneshot is a process that ends: one key more, its run-time limit, and one less: it is
// ready when it completes, not when it says so.
const Keys kOneshotKeys = [] {
    Keys keys = kProcessKeys;
    keys.erase(std::find(keys.begin(), keys.end(), "ready"));
    keys.emplace_back("timeout");
    return keys;
}();
const Keys kExternalKeys{"name",       "description", "kind",     "critical", "enabled",
                         "depends_on", "probes",      "recovery", "wake",     "output"};
const Keys kCapabilityKeys{"name",     "description", "kind",  "enabled",          "requires", "check",
                           "activate", "deactivate",  "tiers", "monitor_interval", "retry",    "permanent_exit_codes"};
const Keys kTierKeys{"name", "requires", "check", "activate", "deactivate"};
const Keys kNotDefaultable{"name", "kind", "command", "description"};

const Keys& keys_of(Kind kind) {
    switch (kind) {
        case Kind::process:
            return kProcessKeys;
        case Kind::oneshot:
            return kOneshotKeys;
        case Kind::external:
            return kExternalKeys;
        case Kind::capability:
            return kCapabilityKeys;
    }
    return kProcessKeys;
}

bool contains(const Keys& keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

Keys all_keys() {
    std::set<std::string> all;
    for (Kind k : {Kind::process, Kind::oneshot, Kind::external, Kind::capability})
        all.insert(keys_of(k).begin(), keys_of(k).end());
    return {all.begin(), all.end()};
}

std::string not_applicable(std::string_view key, Kind kind) {
    if (key == "command" && kind == Kind::external)
        return "an external service has no 'command': it is only probed (use 'wake' to bring it up)";
    if (key == "command" && kind == Kind::capability)
        return "a capability has no 'command': use 'activate' and 'deactivate'";
    if (key == "probes" && kind == Kind::capability) return "a capability has no 'probes': use 'check'";
    if (key == "wake") return "'wake' is only for external services";
    if (key == "ready" && kind == Kind::oneshot)
        return "'ready' does not apply to a oneshot: it is done when it exits 0";
    if (key == "timeout") {
        return "'timeout' limits the run of a oneshot (kind: oneshot); a " + std::string(to_string(kind)) +
               " service runs until it is stopped ('stop.timeout' bounds its stop)";
    }
    return "'" + std::string(key) + "' does not apply to kind " + std::string(to_string(kind));
}

// The defaults that apply to `kind`, as a map node.
Node defaults_for(const Node& defaults, Kind kind) {
    Node out = defaults;
    std::erase_if(out.entries,
                  [&](const Entry& e) { return !contains(keys_of(kind), e.key) || contains(kNotDefaultable, e.key); });
    return out;
}

std::optional<Argv> read_command(MapReader& r, std::string_view key, bool shell) {
    const Node* n = r.get(key);
    if (n == nullptr) return std::nullopt;
    return read_command_argv(*n, key, shell, r.diags());
}

// A command string written as for a shell ("migrate | tee log", "a && b") but run without one:
// each operator is an argument of the program, which is seldom what was meant.
void warn_shell_words(const Argv& argv, const Mark& at, Diagnostics& diags) {
    static const std::vector<std::string_view> operators{"|", "||", "&&", "&", ";", ">", ">>", "<", "2>", "2>&1"};
    for (std::size_t i = 1; i < argv.size(); ++i) {
        const std::string& w = argv[i];
        const bool op =
            std::find(operators.begin(), operators.end(), w) != operators.end() || (w.size() > 1 && w.back() == ';');
        if (!op) continue;
        diags.warning(at, "'command' runs without a shell: '" + w + "' is passed to " + argv.front() +
                              " as an argument (set 'shell: true' to run it as a shell command line)");
        return;
    }
}

// The typed keys of a process, oneshot or external service.
void read_service_body(MapReader& r, ServiceSpec& s) {
    Diagnostics& diags = r.diags();
    r.string("description", s.description);
    r.boolean("critical", s.critical);
    r.boolean("enabled", s.enabled);
    if (const Node* d = r.get("depends_on")) read_depends_on(*d, s.depends_on, diags);
    if (const Node* p = r.get("probes")) read_probes(*p, s.probes, diags);
    if (const Node* rec = r.get("recovery"); rec && expect_map(*rec, "recovery", diags)) {
        MapReader v(*rec, diags);
        v.count("max_attempts", s.recovery.max_attempts, 0);
        v.duration("max_total_time", s.recovery.max_total_time);
        v.finish();
    }
    if (const Node* out = r.get("output"); out && expect_map(*out, "output", diags)) {
        MapReader v(*out, diags);
        v.boolean("console", s.output.console);
        v.boolean("file", s.output.file);
        v.finish();
    }
    if (s.kind == Kind::external) {
        if (const Node* w = r.get("wake"); w && expect_map(*w, "wake", diags)) {
            MapReader v(*w, diags);
            WakeSpec wake;
            if (auto cmd = read_command(v, "command", false))
                wake.command = *cmd;
            else if (v.get("command") == nullptr)
                diags.error(w->mark, "'wake' needs a 'command'");
            if (const Node* retry = v.get("retry")) read_retry(*retry, wake.retry, diags);
            read_exit_codes(v, "permanent_exit_codes", wake.permanent_exit_codes);
            v.finish();
            if (!wake.command.empty()) s.wake = wake;
        }
        return;
    }
    if (s.kind == Kind::oneshot) s.restart.policy = RestartPolicy::on_failure;
    r.boolean("shell", s.shell);
    if (const Entry* c = r.entry("command"); c && !c->value.is_null()) {
        s.command_mark = c->value.mark;
        if (auto cmd = read_command(r, "command", s.shell)) s.command = *cmd;
        if (!s.shell && c->value.is_scalar()) warn_shell_words(s.command, c->value.mark, diags);
    }
    r.optional_path("working_dir", s.working_dir);
    if (const Node* wd = r.get("working_dir")) s.working_dir_mark = wd->mark;
    if (const Node* env = r.get("environment")) {
        if (auto vars = read_env_vars(*env, "environment", diags)) s.environment = *vars;
    }
    if (const Node* files = r.get("env_file")) {
        if (auto list = read_string_list(*files, "env_file", diags)) {
            for (const auto& [text, at] : *list) {
                Path p = resolve_path(text, at);
                s.env_files.push_back(p);
                read_env_file(p, at, s.env_file_vars, diags);
            }
        }
    }
    r.optional_string("user", s.user);
    if (const Node* u = r.get("user")) s.user_mark = u->mark;
    r.optional_string("group", s.group);
    if (const Node* g = r.get("group")) s.group_mark = g->mark;
    r.duration("ready_after", s.ready_after);
    if (s.kind == Kind::oneshot) {
        r.duration("timeout", s.timeout);
        if (const Node* t = r.get("timeout"); t && s.timeout == Duration{0}) {
            diags.warning(t->mark,
                          "'timeout: 0' lets this oneshot run for ever: a hung run holds its dependents back until "
                          "it is stopped by hand");
        }
    }
    if (const Node* forward = r.get("forward_signals")) {
        if (auto list = read_string_list(*forward, "forward_signals", diags)) {
            for (const auto& [text, at] : *list) {
                auto sig = parse_signal(text);
                if (!sig) {
                    diags.error(at, "'forward_signals' lists signals such as SIGUSR1, got '" + text + "'");
                } else if (*sig.value != SIGUSR1 && *sig.value != SIGUSR2 && *sig.value != SIGWINCH) {
                    diags.error(at, "mainstay passes on SIGUSR1, SIGUSR2 and SIGWINCH; " + signal_name(*sig.value) +
                                        " means something to mainstay itself (use `mainstay signal " +
                                        signal_name(*sig.value) + " " + s.name + "` to send it to this service)");
                } else {
                    s.forward_signals.push_back(*sig.value);
                }
            }
        }
    }
    if (const Node* restart = r.get("restart")) read_restart(*restart, s.restart, diags);
    read_exit_codes(r, "success_exit_codes", s.success_exit_codes);
    if (const Node* ready = r.get("ready"); ready && expect_map(*ready, "ready", diags))
        read_ready(*ready, s.ready, diags);
    if (const Node* on_exit = r.get("on_exit"); on_exit && expect_map(*on_exit, "on_exit", diags)) {
        MapReader v(*on_exit, diags);
        const std::vector<std::pair<std::string_view, ExitAction>> words{
            {"restart", ExitAction::restart}, {"ignore", ExitAction::ignore}, {"shutdown", ExitAction::shutdown}};
        ExitAction action{};
        if (v.get("success")) {
            v.enumeration("success", action, words);
            s.on_success = action;
        }
        if (v.get("failure")) {
            v.enumeration("failure", action, words);
            s.on_failure = action;
        }
        v.finish();
    }
    if (const Node* limits = r.get("limits")) read_limits(*limits, s.limits, diags);
    if (const Node* stop = r.get("stop"); stop && expect_map(*stop, "stop", diags)) {
        MapReader v(*stop, diags);
        v.signal("signal", s.stop.signal);
        v.duration("timeout", s.stop.timeout);
        s.stop.command = read_command(v, "command", false);
        v.finish();
    }
}

// `requires`, `check`, `activate`, `deactivate`: of the plain form, or of one tier.
template <class Step>
void read_step(MapReader& r, Step& step) {
    Diagnostics& diags = r.diags();
    if (const Node* req = r.get("requires")) {
        if (auto list = read_string_list(*req, "requires", diags)) {
            for (const auto& [name, at] : *list) {
                step.requires_services.push_back(name);
                step.requires_marks.push_back(at);
            }
        }
    }
    if (const Node* check = r.get("check")) step.check = read_probe(*check, "check", diags);
    step.activate = read_command(r, "activate", false);
    step.deactivate = read_command(r, "deactivate", false);
}

// `tiers:`, best first: each a map with a unique `name`; a tier that requires nothing and has
// no check is always available, so none may follow it.
void read_tiers(const Node& node, CapabilitySpec& c, Diagnostics& diags) {
    if (!node.is_sequence() || node.items.empty()) {
        diags.error(node.mark, "'tiers' must be a non-empty list of tiers, best first, got " + describe(node));
        return;
    }
    for (const Node& item : node.items) {
        if (!item.is_map()) {
            diags.error(item.mark,
                        "a tier must be a map with 'name' and 'requires', 'check', 'activate', 'deactivate', got " +
                            describe(item));
            continue;
        }
        for (const auto& e : item.entries) {
            if (contains(kTierKeys, e.key)) continue;
            std::string message = "unknown key '" + e.key + "' in a tier";
            if (auto near = nearest(e.key, kTierKeys)) message += " (did you mean '" + *near + "'?)";
            diags.error(e.key_mark, std::move(message));
        }
        MapReader t(item, diags);
        TierSpec tier;
        tier.name_mark = item.mark;
        if (const Entry* n = item.entry("name")) tier.name_mark = n->value.mark;
        t.string("name", tier.name);
        if (tier.name.empty()) {
            diags.error(item.mark, "a tier needs a 'name'");
        } else if (!is_valid_name(tier.name)) {
            diags.error(tier.name_mark, "invalid tier name '" + tier.name + "': names match [a-z0-9][a-z0-9_.-]*");
        } else {
            for (const auto& before : c.tiers) {
                if (before.name == tier.name) {
                    diags.error(tier.name_mark, "tier '" + tier.name + "' twice (first at line " +
                                                    std::to_string(before.name_mark.line) + ")");
                }
            }
        }
        read_step(t, tier);
        for (const auto& e : item.entries) t.get(e.key);  // unknown ones were reported above
        t.finish();
        if (!c.tiers.empty()) {
            const TierSpec& last = c.tiers.back();
            if (last.requires_services.empty() && !last.check) {
                diags.error(tier.name_mark, "tier '" + tier.name + "' can never be active: tier '" + last.name +
                                                "' before it requires nothing and has no check");
            }
        }
        c.tiers.push_back(std::move(tier));
    }
}

void read_capability_body(MapReader& r, CapabilitySpec& c) {
    Diagnostics& diags = r.diags();
    r.string("description", c.description);
    r.boolean("enabled", c.enabled);
    if (const Node* tiers = r.get("tiers")) {
        for (const char* plain : {"requires", "check", "activate", "deactivate"}) {
            if (const Entry* e = r.entry(plain)) {
                diags.error(e->key_mark, std::string("with 'tiers', '") + plain + "' belongs to each tier");
            }
        }
        read_tiers(*tiers, c, diags);
    } else {
        read_step(r, c);
    }
    r.positive_duration("monitor_interval", c.monitor_interval);
    if (const Node* retry = r.get("retry")) read_retry(*retry, c.hook_retry, diags);
    read_exit_codes(r, "permanent_exit_codes", c.permanent_exit_codes);
}

}  // namespace

void validate_defaults(const Node& defaults, Diagnostics& diags) {
    static const Keys all = all_keys();
    for (const auto& e : defaults.entries) {
        if (e.key.starts_with("x-")) continue;
        if (contains(kNotDefaultable, e.key)) {
            diags.error(e.key_mark, "'" + e.key + "' cannot be set in 'defaults'");
        } else if (!contains(all, e.key)) {
            std::string message = "unknown key '" + e.key + "' in 'defaults'";
            if (auto near = nearest(e.key, all)) message += " (did you mean '" + *near + "'?)";
            diags.error(e.key_mark, std::move(message));
        }
    }
    // Values are typed where they are used: merged into each service (a default may be partial,
    // e.g. only `probes.readiness.interval`, and is complete only with the service's own keys).
}

void read_service_file(const Node& tree, const std::filesystem::path& file, const Node* defaults, Diagnostics& diags,
                       Config& out) {
    if (!tree.is_map()) {
        diags.error(tree.mark, "a service file must hold a map of keys, got " + describe(tree));
        return;
    }
    Kind kind = Kind::process;
    const std::size_t errors_before_kind = diags.error_count();
    {
        MapReader k(tree, diags);
        k.enumeration("kind", kind,
                      {{"process", Kind::process},
                       {"oneshot", Kind::oneshot},
                       {"external", Kind::external},
                       {"capability", Kind::capability}});
    }
    // With an unknown `kind` the file is read as a process: its per-kind rules would only mislead.
    const bool kind_known = diags.error_count() == errors_before_kind;
    std::string name = file.stem().string();
    Mark name_mark{file.string(), 1, 1};
    if (const Entry* n = tree.entry("name")) {
        name_mark = n->value.is_null() ? n->key_mark : n->value.mark;
        if (!n->value.is_scalar())
            diags.error(name_mark, "'name' must be a string, got " + describe(n->value));
        else if (!is_valid_name(n->value.scalar))
            diags.error(name_mark, "invalid name '" + n->value.scalar + "': names match [a-z0-9][a-z0-9_.-]*");
        else
            name = n->value.scalar;
    } else if (!is_valid_name(name)) {
        diags.error(name_mark,
                    "the file name '" + name + "' is not a valid service name ([a-z0-9][a-z0-9_.-]*): set 'name:'");
    }

    Node merged = defaults ? merge(defaults_for(*defaults, kind), tree, kProbeHandlerKeys) : tree;
    MapReader r(merged, diags);
    static const Keys all = all_keys();
    for (const auto& e : tree.entries) {
        if (contains(all, e.key) && !contains(keys_of(kind), e.key)) {
            diags.error(e.key_mark, not_applicable(e.key, kind));
            r.entry(e.key);
        }
    }
    r.get("name");
    r.get("kind");

    if (kind == Kind::capability) {
        CapabilitySpec c;
        c.name = name;
        c.name_mark = name_mark;
        c.source = file;
        read_capability_body(r, c);
        r.finish();
        if (c.tiers.empty() && c.requires_services.empty() && !c.check && !tree.entry("tiers")) {
            diags.error(tree.mark,
                        "a capability needs 'requires' (a non-empty list of services) or 'check', or 'tiers'");
        }
        out.capabilities.push_back(std::move(c));
        return;
    }

    ServiceSpec s;
    s.name = name;
    s.name_mark = name_mark;
    s.kind = kind;
    s.source = file;
    read_service_body(r, s);
    r.finish();
    // An entry that is present but unreadable was reported already; only a missing one is told here.
    const Entry* command = merged.entry("command");
    if (kind_known && (kind == Kind::process || kind == Kind::oneshot) &&
        (command == nullptr || command->value.is_null())) {
        diags.error(tree.mark, "a " + std::string(to_string(kind)) + " service needs a 'command'");
    }
    const Node* probes = merged.find("probes");
    if (kind_known && kind == Kind::external && !(probes && probes->is_map() && probes->find("readiness"))) {
        diags.error(probes ? probes->mark : tree.mark,
                    "an external service needs a readiness probe ('probes: {readiness: ...}')");
    }
    out.services.push_back(std::move(s));
}

}  // namespace mainstay::config
