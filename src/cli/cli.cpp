#include "cli/cli.hpp"

#include <CLI/App.hpp>
#include <CLI/Config.hpp>
#include <CLI/Formatter.hpp>
#include <CLI/Validators.hpp>

#include <algorithm>
#include <optional>
#include <string>

#include "cli/client.hpp"
#include "cli/plan.hpp"
#include "cli/version.hpp"
#include "config/loader.hpp"
#include "config/machine_checks.hpp"
#include "config/schema.hpp"
#include "runtime/run.hpp"

namespace mainstay::cli {
namespace {

struct Options {
    std::string config_file;
    std::string services_dir;
    std::string log_level;
    bool plan{false};
    ClientOptions client;
};

void add_config_option(CLI::App& app, Options& o) {
    app.add_option("-c,--config", o.config_file, "Main configuration file (default: $MAINSTAY_CONFIG, "
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

int check(const Options& o, const config::Environment& env, std::ostream& out, std::ostream& err) {
    auto config = load(o, env, true, err);
    if (!config) return kExitInvalidConfig;
    out << config->main.file.string() << ": ok: " << config->services.size() << " services, "
        << config->capabilities.size() << " capabilities\n";
    if (o.plan) out << describe_plan(*config);
    return kExitOk;
}

int run_supervisor(const Options& o, const config::Environment& env, std::ostream& err) {
    runtime::exit_on_stop_signals();
    config::LoadOptions used;
    auto config = load(o, env, false, err, false, &used);
    if (!config) return kExitInvalidConfig;
    err.flush();
    return runtime::run(std::move(*config), used);
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

    // The commands that ask the running instance: they read only the main file (to find it).
    CLI::App* status_cmd = app.add_subcommand("status", "Show the status of the running instance (exit 0 full, 1 degraded, "
                                                        "2 critical, 3 not running)");
    add_config_option(*status_cmd, options);
    status_cmd->add_flag("--json", options.client.json, "The status document (JSON)");
    status_cmd->add_flag("--watch", options.client.watch, "Print it again at every change");
    status_cmd->add_option("names", options.client.names, "Only these services");

    CLI::App* why_cmd = app.add_subcommand("why", "Why a service is not ready, down the dependency chain");
    add_config_option(*why_cmd, options);
    why_cmd->add_flag("--json", options.client.json, "The answer as JSON");
    why_cmd->add_option("name", options.client.names, "The service")->required()->expected(1);

    CLI::App* events_cmd = app.add_subcommand("events", "The journal of transitions, oldest first");
    add_config_option(*events_cmd, options);
    events_cmd->add_flag("--json", options.client.json, "One JSON object per line");
    events_cmd->add_flag("--follow", options.client.follow, "Keep printing them as they come");
    events_cmd->add_option("--since", options.client.since, "Only the last DURATION (5m, 1h)");
    events_cmd->add_option("names", options.client.names, "Only these services and capabilities");

    std::vector<std::pair<std::string, CLI::App*>> control_cmds;
    for (const char* verb : {"start", "stop", "restart", "resume"}) {
        const std::string help = std::string(verb) == "start"     ? "Start a service (after stop, or a failed one)"
                                 : std::string(verb) == "stop"    ? "Stop a service and keep it stopped until start"
                                 : std::string(verb) == "restart" ? "Restart a service now, without its backoff"
                                                                  : "Resume a paused or waiting service now";
        CLI::App* c = app.add_subcommand(verb, help);
        add_config_option(*c, options);
        c->add_option("name", options.client.names, "The service")->required()->expected(1);
        control_cmds.emplace_back(verb, c);
    }

    CLI::App* analyze_cmd = app.add_subcommand("analyze", "The startup timeline of the running instance: per service "
                                                          "launch, running and ready times, the critical chain");
    add_config_option(*analyze_cmd, options);
    analyze_cmd->add_flag("--json", options.client.json, "The timeline as JSON");
    analyze_cmd->add_option("--svg", options.client.svg, "Also write it as an SVG Gantt chart to FILE");
    CLI::App* reload_cmd = app.add_subcommand("reload", "Read the configuration again and apply the difference, like "
                                                        "SIGHUP (exit 2: invalid, nothing changed)");
    add_config_option(*reload_cmd, options);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e, out, err);
        return code == 0 ? kExitOk : kExitUsage;
    }
    if (check_cmd->parsed()) return check(options, env, out, err);
    const bool client = status_cmd->parsed() || why_cmd->parsed() || events_cmd->parsed() || analyze_cmd->parsed() ||
                        reload_cmd->parsed() ||
                        std::any_of(control_cmds.begin(), control_cmds.end(), [](const auto& c) { return c.second->parsed(); });
    if (client) {
        auto config = load(options, env, false, err, true);
        if (!config) {
            // The main file names the control socket: while it is invalid the instance cannot be
            // found, and it keeps running what it runs.
            if (reload_cmd->parsed()) {
                err << "mainstay: invalid configuration: the running instance was not asked to reload\n";
            }
            return kExitInvalidConfig;
        }
        options.client.width = terminal_width(env);
        if (status_cmd->parsed()) return status_command(config->main, options.client, out, err);
        if (why_cmd->parsed()) return why_command(config->main, options.client, out, err);
        if (events_cmd->parsed()) return events_command(config->main, options.client, out, err);
        if (analyze_cmd->parsed()) return analyze_command(config->main, options.client, out, err);
        if (reload_cmd->parsed()) return reload_command(config->main, out, err);
        for (const auto& [verb, c] : control_cmds) {
            if (c->parsed()) return control_command(config->main, verb, options.client, out, err);
        }
    }
    return run_supervisor(options, env, err);
}

}  // namespace mainstay::cli
