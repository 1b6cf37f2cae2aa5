#include "cli/cli.hpp"

#include <CLI/App.hpp>
#include <CLI/Config.hpp>
#include <CLI/Formatter.hpp>
#include <CLI/Validators.hpp>
#include <algorithm>
#include <optional>
#include <string>

#include "cli/client.hpp"
#include "cli/export_k8s.hpp"
#include "cli/plan.hpp"
#include "cli/version.hpp"
#include "cli/wait.hpp"
#include "config/client_target.hpp"
#include "config/loader.hpp"
#include "config/machine_checks.hpp"
#include "config/schema.hpp"
#include "daemon/daemon.hpp"
#include "runtime/containment.hpp"

namespace mainstay::cli {
namespace {

struct Options {
    std::string socket;
    std::string config_file;
    std::string services_dir;
    std::string log_level;
    bool plan{false};
    ClientOptions client;
};

void add_config_option(CLI::App& app, Options& o) {
    app.add_option("-c,--config", o.config_file,
                   "Main configuration file (default: $MAINSTAY_CONFIG, "
                   "./config/mainstay.yaml, /etc/mainstay/mainstay.yaml)");
    app.add_option("--services-dir", o.services_dir, "Directory of service files (overrides services_dir)");
}

void print_diagnostics(const config::Diagnostics& diags, std::ostream& err) {
    for (const auto& d : diags.sorted()) err << config::format(d) << '\n';
}

// Loads the configuration; prints every diagnostic. nullopt when it is invalid.
std::optional<config::Config> load(const Options& o, const config::Environment& env, bool machine_checks,
                                   std::ostream& err, bool main_only = false, config::LoadOptions* used = nullptr) {
    std::vector<std::string> tried;
    std::optional<std::filesystem::path> explicit_file;
    if (!o.config_file.empty()) explicit_file = o.config_file;
    auto file = config::find_config_file(explicit_file, env, tried);
    if (!file) {
        err << "mainstay: error: no configuration file found (looked for -c, $MAINSTAY_CONFIG";
        for (const auto& t : tried) err << ", " << t;
        err << ")\n";
        return std::nullopt;
    }
    config::LoadOptions options{*file, std::nullopt, std::nullopt, env};
    options.main_only = main_only;
    if (!o.services_dir.empty()) options.services_dir = o.services_dir;
    if (!o.log_level.empty()) options.log_level = o.log_level;
    if (used != nullptr) *used = options;
    auto result = config::load(options);
    if (result.config && machine_checks) config::check_machine(*result.config, env, result.diagnostics);
    print_diagnostics(result.diagnostics, err);
    return std::move(result.config);
}

// Where the running instance listens (SPEC §1): --socket, $MAINSTAY_SOCKET, or status.socket
// of the main file (read alone: an error elsewhere in it, or in services.d, does not matter).
std::optional<config::ClientTarget> client_target(const Options& o, const config::Environment& env, std::ostream& err) {
    if (!o.socket.empty()) return config::ClientTarget{o.socket, std::nullopt};
    if (auto from_env = env.get("MAINSTAY_SOCKET"); from_env && !from_env->empty()) {
        return config::ClientTarget{*from_env, std::nullopt};
    }
    std::vector<std::string> tried;
    std::optional<std::filesystem::path> explicit_file;
    if (!o.config_file.empty()) explicit_file = o.config_file;
    auto file = config::find_config_file(explicit_file, env, tried, true);
    if (!file) {
        err << "mainstay: error: no running instance to ask: no --socket, no $MAINSTAY_SOCKET and no configuration "
               "file "
               "(looked for -c, $MAINSTAY_CONFIG";
        for (const auto& t : tried) err << ", " << t;
        err << ")\n";
        return std::nullopt;
    }
    std::string error;
    auto target = config::read_client_target(*file, env, error);
    if (!target) err << "mainstay: error: " << error << '\n';
    return target;
}

int check(const Options& o, const config::Environment& env, std::ostream& out, std::ostream& err) {
    auto config = load(o, env, true, err);
    if (!config) return kExitInvalidConfig;
    const auto count = [](std::size_t n, const char* one, const char* many) {
        return std::to_string(n) + " " + (n == 1 ? one : many);
    };
    out << config->main.file.string() << ": ok: " << count(config->services.size(), "service", "services") << ", "
        << count(config->capabilities.size(), "capability", "capabilities") << "\n";
    if (o.plan) out << describe_plan(*config);
    return kExitOk;
}

int run_supervisor(const Options& o, const config::Environment& env, std::ostream& err) {
    runtime::exit_on_stop_signals();
    config::LoadOptions used;
    auto config = load(o, env, false, err, false, &used);
    if (!config) return kExitInvalidConfig;
    err.flush();
    return daemon::run(std::move(*config), used);
}

}  // namespace

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err, const config::Environment& env) {
    CLI::App app{"mainstay: a startup supervisor that keeps starting in degraded mode and recovers in the background",
                 "mainstay"};
    app.set_version_flag("--version", std::string("mainstay ") + MAINSTAY_VERSION);
    app.require_subcommand(0, 1);

    // One set of options, so that `mainstay -c FILE check` and `mainstay check -c FILE` agree.
    Options options;
    add_config_option(app, options);
    auto add_log_level = [&](CLI::App& a) {
        std::vector<std::string> levels;
        for (const auto& [word, level] : config::kLogLevels) levels.emplace_back(word);
        a.add_option("--log-level", options.log_level, "trace, debug, info, warn or error (overrides log.level)")
            ->check(CLI::IsMember(levels));
    };
    add_log_level(app);

    CLI::App* run_cmd = app.add_subcommand("run", "Start and supervise the services (the default command)");
    add_config_option(*run_cmd, options);
    add_log_level(*run_cmd);

    CLI::App* check_cmd = app.add_subcommand("check", "Validate the configuration, print every problem, start nothing");
    add_config_option(*check_cmd, options);
    check_cmd->add_flag("--plan", options.plan, "Also print the start waves and the stop order");

    // The commands that ask the running instance: they read only status.socket of the main file
    // (or take --socket) to find it.
    auto add_client_options = [&](CLI::App& a) {
        add_config_option(a, options);
        a.add_option("--socket", options.socket,
                     "The running instance's control socket (default: $MAINSTAY_SOCKET, "
                     "else status.socket of the main file)");
    };
    std::vector<CLI::App*> client_cmds;
    auto client_cmd = [&](const char* name, const std::string& help) {
        CLI::App* c = app.add_subcommand(name, help);
        add_client_options(*c);
        client_cmds.push_back(c);
        return c;
    };
    CLI::App* status_cmd = client_cmd("status",
                                      "Show the status of the running instance (exit 0 full, 1 degraded, "
                                      "2 critical, 3 not running)");
    status_cmd->add_flag("--json", options.client.json, "The status document (JSON)");
    status_cmd->add_flag("--watch", options.client.watch, "Print it again at every change, each with the time");
    status_cmd->add_option("names", options.client.names, "Only these services");

    CLI::App* breakers_cmd = client_cmd("breakers",
                                        "Every circuit breaker (each service's restarts, each external "
                                        "service's wakes) with its figures");
    breakers_cmd->add_flag("--json", options.client.json, "The breakers as a JSON array");
    breakers_cmd->add_option("names", options.client.names, "Only these services");

    CLI::App* why_cmd = client_cmd("why", "Why a service is not ready, down the dependency chain");
    why_cmd->add_flag("--json", options.client.json, "The answer as JSON");
    why_cmd->add_option("name", options.client.names, "The service")->required()->expected(1);

    CLI::App* events_cmd = client_cmd("events", "The journal of transitions, oldest first");
    events_cmd->add_flag("--json", options.client.json, "One JSON object per line");
    events_cmd->add_flag("--follow", options.client.follow, "Keep printing them as they come");
    events_cmd->add_option("--since", options.client.since, "Only the last DURATION (5m, 1h)");
    events_cmd->add_option("names", options.client.names, "Only these services and capabilities");

    CLI::App* logs_cmd = client_cmd("logs", "A service's captured output: its last lines, then with -f the new ones");
    logs_cmd->add_option("name", options.client.names, "The service")->required()->expected(1);
    logs_cmd->add_option("-n,--lines", options.client.lines, "How many of the last lines (default 50)")
        ->check(CLI::Range(std::size_t{0}, std::size_t{100000}));
    logs_cmd->add_flag("-f,--follow", options.client.follow, "Then keep printing new lines as they come");

    std::vector<std::pair<std::string, CLI::App*>> control_cmds;
    for (const char* verb : {"start", "stop", "restart", "resume", "signal"}) {
        const std::string v = verb;
        const std::string help = v == "start"     ? "Start services: stopped, failed or completed ones run again"
                                 : v == "stop"    ? "Stop services and keep them stopped until start"
                                 : v == "restart" ? "Restart services now, without their backoff"
                                 : v == "resume"  ? "Resume paused or recovering services now"
                                                  : "Send a signal to services' processes (their process groups)";
        CLI::App* c = client_cmd(verb, help);
        if (v == "signal") {
            c->add_option("signal", options.client.signal, "SIGUSR1, USR1 or a number")->required();
        }
        c->add_option("names", options.client.names, "The services");
        c->add_flag("--all", options.client.all, "Every service it applies to");
        if (v != "signal") {
            c->add_flag("--wait", options.client.wait,
                        "Return once each is ready or completed (stop: stopped), or failed");
            c->add_option("--timeout", options.client.timeout, "With --wait: give up after this long (default 60s)");
        }
        control_cmds.emplace_back(verb, c);
    }

    CLI::App* upgrade_cmd = client_cmd("upgrade",
                                       "Check a capability's tiers now and move to the best available "
                                       "one, ending a hold");
    upgrade_cmd->add_option("name", options.client.names, "The capability")->required()->expected(1);
    CLI::App* downgrade_cmd = client_cmd("downgrade",
                                         "Move a capability to a lower tier and hold it there until "
                                         "upgrade");
    downgrade_cmd->add_option("name", options.client.names, "The capability")->required()->expected(1);
    downgrade_cmd->add_option("--to", options.client.tier,
                              "The tier (default: the next lower one than the active one)");

    CLI::App* export_cmd = app.add_subcommand("export", "Write the configuration for another system");
    CLI::App* k8s_cmd = export_cmd->add_subcommand("k8s",
                                                   "Kubernetes manifests on stdout: one pod running mainstay "
                                                   "(default), or --split: one object per service");
    add_config_option(*k8s_cmd, options);
    ExportOptions export_options;
    k8s_cmd->add_flag("--split", export_options.split, "One Deployment or Job per service, without mainstay");
    k8s_cmd->add_option("--image", export_options.image, "The container image (default mainstay:latest)");
    export_cmd->require_subcommand(1);

    // Not a client command: only service: targets need the running instance.
    CLI::App* wait_cmd = app.add_subcommand("wait",
                                            "Wait until every target answers: tcp://HOST:PORT, "
                                            "http://HOST[:PORT][/PATH], unix:PATH, service:NAME (exit 1 at "
                                            "--timeout)");
    add_client_options(*wait_cmd);
    std::vector<std::string> wait_targets;
    wait_cmd->add_option("targets", wait_targets, "What must answer")->required();
    wait_cmd->add_option("--timeout", options.client.timeout, "Give up after this long (default 60s)");

    CLI::App* analyze_cmd = client_cmd("analyze",
                                       "The startup timeline of the running instance: per service "
                                       "launch, running and ready times, the critical chain");
    analyze_cmd->add_flag("--json", options.client.json, "The timeline as JSON");
    analyze_cmd->add_option("--svg", options.client.svg, "Also write it as an SVG Gantt chart to FILE");
    CLI::App* reload_cmd = client_cmd("reload",
                                      "Read the configuration again and apply the difference, like "
                                      "SIGHUP (exit 2: invalid, nothing changed)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e, out, err);
        return code == 0 ? kExitOk : kExitUsage;
    }
    if (check_cmd->parsed()) return check(options, env, out, err);
    if (k8s_cmd->parsed()) {
        auto config = load(options, env, false, err);
        if (!config) return kExitInvalidConfig;
        out << export_k8s(*config, export_options);
        return kExitOk;
    }
    if (wait_cmd->parsed()) {
        WaitOptions w;
        w.targets = wait_targets;
        for (const auto& t : w.targets) {
            if (auto why = wait_target_error(t)) {
                err << "mainstay wait: " << t << ": " << *why << '\n';
                return kExitUsage;
            }
        }
        auto timeout = config::parse_duration(options.client.timeout);
        if (!timeout) {
            err << "mainstay wait: --timeout " << options.client.timeout << ": " << timeout.error << '\n';
            return kExitUsage;
        }
        w.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout.value);
        if (wants_instance(w.targets)) {
            w.instance = client_target(options, env, err);
            if (!w.instance) return kExitInvalidConfig;
        }
        return wait_command(w, out, err);
    }
    const bool client =
        std::any_of(client_cmds.begin(), client_cmds.end(), [](const CLI::App* c) { return c->parsed(); });
    if (client) {
        for (const auto& [verb, c] : control_cmds) {
            if (!c->parsed()) continue;
            if (options.client.all == !options.client.names.empty()) {
                err << "mainstay " << verb << ": name one or more services, or --all\n";
                return kExitUsage;
            }
        }
        if (reload_cmd->parsed() && !load(options, env, false, err, true)) {
            // The main file is checked here (the instance reads the rest and answers for it).
            err << "mainstay: invalid configuration: the running instance was not asked to reload\n";
            return kExitInvalidConfig;
        }
        auto target = client_target(options, env, err);
        if (!target) return kExitInvalidConfig;
        options.client.width = terminal_width(env);
        if (status_cmd->parsed()) return status_command(*target, options.client, out, err);
        if (why_cmd->parsed()) return why_command(*target, options.client, out, err);
        if (breakers_cmd->parsed()) return breakers_command(*target, options.client, out, err);
        if (events_cmd->parsed()) return events_command(*target, options.client, out, err);
        if (logs_cmd->parsed()) return logs_command(*target, options.client, out, err);
        if (analyze_cmd->parsed()) return analyze_command(*target, options.client, out, err);
        if (reload_cmd->parsed()) return reload_command(*target, out, err);
        if (upgrade_cmd->parsed()) return tier_command(*target, "upgrade", options.client, out, err);
        if (downgrade_cmd->parsed()) return tier_command(*target, "downgrade", options.client, out, err);
        for (const auto& [verb, c] : control_cmds) {
            if (c->parsed()) return control_command(*target, verb, options.client, out, err);
        }
    }
    return run_supervisor(options, env, err);
}

}  // namespace mainstay::cli
