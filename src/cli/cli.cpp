#include "cli/cli.hpp"

#include <CLI/App.hpp>
#include <CLI/Config.hpp>
#include <CLI/Formatter.hpp>
#include <CLI/Validators.hpp>

#include <optional>
#include <string>

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
                                   std::ostream& err) {
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
    if (!o.services_dir.empty()) options.services_dir = o.services_dir;
    if (!o.log_level.empty()) options.log_level = o.log_level;
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
    auto config = load(o, env, false, err);
    if (!config) return kExitInvalidConfig;
    err.flush();
    return runtime::run(*config);
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

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e, out, err);
        return code == 0 ? kExitOk : kExitUsage;
    }
    if (check_cmd->parsed()) return check(options, env, out, err);
    return run_supervisor(options, env, err);
}

}  // namespace mainstay::cli
