#include "config/loader.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>

#include "config/diff.hpp"
#include "loader_support.hpp"

using namespace loader_support;
using namespace std::chrono_literals;

TEST_CASE("the main file's keys are typed and its relative paths resolved against it") {
    auto r = load_dir(kComplete);
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    const MainConfig& m = r.config->main;
    CHECK(m.services_dir == kComplete / "services.d");
    CHECK(m.log.level == LogLevel::debug);
    CHECK(m.log.file == kComplete / "logs/mainstay.log");
    CHECK(m.log.max_size == 512 * 1024);
    CHECK(m.log.max_files == 3);
    CHECK(m.log.format == LogFormat::json);
    CHECK(m.status.file == kComplete / "run/status.json");
    CHECK(m.status.socket == kComplete / "run/control.sock");
    REQUIRE(m.status.http);
    CHECK(m.status.http->host == "::1");
    CHECK(m.status.http->port == 9077);
    CHECK(m.status.print_interval == 0ms);
    CHECK(m.startup_timeout == 90s);
    CHECK(m.on_critical_failure == CriticalFailure::exit);
    CHECK(m.shutdown_timeout == 45s);
}

TEST_CASE("a process service: command split, env files, probes, restart, stop and defaults merged") {
    auto r = load_dir(kComplete);
    REQUIRE(r.config);
    const ServiceSpec& db = service(*r.config, "db");
    CHECK(db.kind == Kind::process);
    CHECK(db.description == "Database primary");
    CHECK(db.command == Argv{"postgres", "-D", "/var/lib/postgres data", "-c", "listen_addresses=*"});
    CHECK_FALSE(db.shell);
    CHECK(db.working_dir == kComplete / "data");  // relative to services.d/10-db.yaml
    CHECK(db.environment == EnvVars{{"PGPORT", "5432"}, {"PGUSER", "app"}});
    // env_file comes from defaults, so it is relative to the main file.
    CHECK(db.env_files == std::vector<Path>{kComplete / "env/common.env"});
    CHECK(db.env_file_vars == EnvVars{{"COMMON", "yes"}, {"QUOTED", "a \"b\" c"}, {"SINGLE", "$NOT_EXPANDED"}});
    CHECK(db.user == "postgres");
    CHECK(db.group == "postgres");
    CHECK(db.critical);
    CHECK(db.enabled);
    CHECK(db.ready_after == 3s);  // from defaults

    REQUIRE(db.probes.startup);
    CHECK(std::get<ExecProbe>(db.probes.startup->handler).argv == Argv{"pg_isready", "-q"});
    CHECK(db.probes.startup->startup_interval == 50ms);
    CHECK(db.probes.startup->thresholds.failure_threshold == 30);
    REQUIRE(db.probes.readiness);
    const auto& http = std::get<HttpProbe>(db.probes.readiness->handler);
    CHECK(http.target.host == "127.0.0.1");
    CHECK(http.target.port == 8008);
    CHECK(http.target.target == "/health?full=1");
    CHECK(http.method == "HEAD");
    CHECK(http.status.low == 200);
    CHECK(http.status.high == 299);
    CHECK(http.headers == EnvVars{{"X-Probe", "mainstay"}});
    CHECK(db.probes.readiness->initial_delay == 1s);
    CHECK(db.probes.readiness->interval == 2s);  // merged from the default readiness probe
    CHECK(db.probes.readiness->thresholds.success_threshold == 2);
    CHECK(db.probes.readiness->thresholds.failure_threshold == 3);
    REQUIRE(db.probes.liveness);
    CHECK(std::get<TcpProbe>(db.probes.liveness->handler).address.port == 5432);
    CHECK(db.probes.liveness->timeout == 500ms);

    CHECK(db.restart.policy == RestartPolicy::on_failure);
    CHECK(db.restart.backoff.initial == 2s);
    CHECK(db.restart.backoff.max == 1min);
    CHECK(db.restart.backoff.multiplier == doctest::Approx(1.5));
    CHECK(db.restart.backoff.jitter == mainstay::resilience::Jitter::decorrelated);
    CHECK(db.restart.reset_after == 1h);  // from defaults
    CHECK(db.restart.permanent_exit_codes == std::vector<int>{78, 2});
    CHECK(db.restart.circuit_breaker.failure_threshold == 3);
    CHECK(db.restart.circuit_breaker.recovery_timeout == 1min);
    CHECK(db.restart.circuit_breaker.half_open_successes == 2);
    CHECK(db.restart.circuit_breaker.half_open_max_calls == 2);
    CHECK(db.recovery.max_attempts == 10);
    CHECK(db.recovery.max_total_time == 1h);
    CHECK(db.stop.signal == SIGINT);
    CHECK(db.stop.timeout == 30s);
    CHECK(db.stop.command == Argv{"pg_ctl", "stop", "-m", "fast"});
}

TEST_CASE("dependencies in map and list form, with conditions and required") {
    auto r = load_dir(kComplete);
    REQUIRE(r.config);
    const ServiceSpec& app = service(*r.config, "app");
    REQUIRE(app.depends_on.size() == 4);
    CHECK(app.depends_on[0].name == "db");
    CHECK(app.depends_on[0].condition == Condition::healthy);
    CHECK(app.depends_on[1].condition == Condition::completed);
    CHECK(app.depends_on[2].name == "gpu");
    CHECK(app.depends_on[2].condition == Condition::started);
    CHECK_FALSE(app.depends_on[2].required);
    CHECK(app.depends_on[3].name == "docker");  // `docker:` with no value: the defaults
    CHECK(app.depends_on[3].condition == Condition::healthy);
    CHECK(app.depends_on[3].required);
    CHECK(app.depends_on[0].mark.line == 6);

    const ServiceSpec& migrate = service(*r.config, "migrate");
    REQUIRE(migrate.depends_on.size() == 1);
    CHECK(migrate.depends_on[0].required);
    CHECK(migrate.depends_on[0].condition == Condition::healthy);
}

TEST_CASE("environment maps, $$ escapes, a service's env_file replacing the default") {
    auto r = load_dir(kComplete);
    REQUIRE(r.config);
    const ServiceSpec& app = service(*r.config, "app");
    CHECK(app.environment == EnvVars{{"MODE", "${literal}"}, {"EMPTY", ""}});
    CHECK(app.env_files == std::vector<Path>{kComplete / "services.d/app.env"});
    CHECK(app.env_file_vars == EnvVars{{"APP_PORT", "8080"}});
    const auto& http = std::get<HttpProbe>(app.probes.readiness->handler);
    CHECK(http.url == "http://localhost:8080/ready");
    CHECK(http.target.port == 8080);
    CHECK(http.method == "GET");
    CHECK(http.status.low == 200);
    CHECK(http.status.high == 399);
}

TEST_CASE("oneshot defaults to restart on failure and keeps a shell command whole") {
    auto r = load_dir(kComplete);
    REQUIRE(r.config);
    const ServiceSpec& m = service(*r.config, "migrate");
    CHECK(m.kind == Kind::oneshot);
    CHECK(m.shell);
    CHECK(m.command == Argv{"./migrate.sh --all && echo done"});
    CHECK(m.restart.policy == RestartPolicy::on_failure);
    CHECK(service(*r.config, "app").restart.policy == RestartPolicy::always);
}

TEST_CASE("an external service: probe and wake, process-only defaults are ignored") {
    auto r = load_dir(kComplete);
    REQUIRE(r.config);
    const ServiceSpec& gpu = service(*r.config, "gpu");  // from gpu.yml
    CHECK(gpu.kind == Kind::external);
    CHECK(gpu.command.empty());
    CHECK(gpu.env_files.empty());
    CHECK(gpu.ready_after == 1s);
    CHECK(gpu.restart.reset_after == 1min);
    CHECK(gpu.stop.timeout == 10s);
    REQUIRE(gpu.probes.readiness);
    CHECK(gpu.probes.readiness->timeout == 3s);
    CHECK(gpu.probes.readiness->interval == 2s);
    CHECK(std::get<HttpProbe>(gpu.probes.readiness->handler).status.high == 200);
    REQUIRE(gpu.wake);
    CHECK(gpu.wake->command == Argv{"wake-gpu", "--now"});
    CHECK(gpu.wake->retry.max_attempts == 5);
    CHECK(gpu.wake->retry.timeout == 2min);
    CHECK(gpu.wake->retry.backoff.initial == 5s);
    CHECK(gpu.wake->retry.backoff.max == 1min);
}

TEST_CASE("a capability: requires, check, hooks, monitor interval and hook retry") {
    auto r = load_dir(kComplete);
    REQUIRE(r.config);
    REQUIRE(r.config->capabilities.size() == 1);
    const CapabilitySpec& c = r.config->capabilities[0];
    CHECK(c.name == "fast-answers");
    CHECK(c.requires_services == std::vector<std::string>{"app", "gpu"});
    REQUIRE(c.check);
    CHECK(std::get<HttpProbe>(c.check->handler).body_contains == "llama");
    CHECK(c.check->timeout == 2s);
    CHECK(c.activate == Argv{"mode", "local"});
    CHECK(c.deactivate == Argv{"mode", "cloud"});
    CHECK(c.monitor_interval == 5s);
    CHECK(c.hook_retry.max_attempts == 2);
    CHECK(c.hook_retry.timeout == 10s);
}

TEST_CASE("services are read in file-name order, .yml too, other files ignored") {
    auto r = load_dir(kComplete);
    REQUIRE(r.config);
    std::vector<std::string> names;
    for (const auto& s : r.config->services) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"db", "migrate", "app", "docker", "gpu"});
    CHECK_FALSE(service(*r.config, "docker").enabled);
}

TEST_CASE("interpolation reads the injected environment, not the process's") {
    Environment env({{"MAINSTAY_TEST_DB_LABEL", "replica"}});
    auto r = load_dir(kComplete, env);
    REQUIRE(r.config);
    CHECK(service(*r.config, "db").description == "Database replica");
}

TEST_CASE("SPEC defaults apply when a key is absent") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/web.yaml", "command: web --port 80\n");
    t.write("services.d/remote.yaml", "kind: external\nprobes: {readiness: {tcp: \"h:1\"}}\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    const MainConfig& m = r.config->main;
    CHECK(m.services_dir == t.root() / "services.d");
    CHECK(m.log.level == LogLevel::info);
    CHECK_FALSE(m.log.file);
    CHECK(m.log.max_size == 10 * 1024 * 1024);
    CHECK(m.log.max_files == 5);
    CHECK(m.status.file == "/run/mainstay/status.json");
    CHECK(m.status.socket == "/run/mainstay/control.sock");
    CHECK_FALSE(m.status.http);
    CHECK(m.status.print_interval == 30s);
    CHECK(m.startup_timeout == 60s);
    CHECK(m.on_critical_failure == CriticalFailure::degrade);
    CHECK(m.shutdown_timeout == 30s);

    const ServiceSpec& web = service(*r.config, "web");
    CHECK(web.command == Argv{"web", "--port", "80"});
    CHECK(web.ready_after == 1s);
    CHECK_FALSE(web.critical);
    CHECK(web.enabled);
    CHECK(web.restart.policy == RestartPolicy::always);
    CHECK(web.restart.backoff.initial == 1s);
    CHECK(web.restart.backoff.max == 5min);
    CHECK(web.restart.backoff.multiplier == doctest::Approx(2.0));
    CHECK(web.restart.backoff.jitter == mainstay::resilience::Jitter::full);
    CHECK(web.restart.reset_after == 1min);
    CHECK(web.restart.permanent_exit_codes.empty());
    CHECK(web.restart.circuit_breaker.failure_threshold == 5);
    CHECK(web.restart.circuit_breaker.recovery_timeout == 30s);
    CHECK(web.restart.circuit_breaker.half_open_successes == 1);
    CHECK(web.recovery.max_attempts == 0);
    CHECK(web.recovery.max_total_time == 0s);
    CHECK(web.stop.signal == SIGTERM);
    CHECK(web.stop.timeout == 10s);
    CHECK_FALSE(web.stop.command);

    const ProbeSpec& p = *service(*r.config, "remote").probes.readiness;
    CHECK(p.initial_delay == 0s);
    CHECK(p.interval == 10s);
    CHECK_FALSE(p.startup_interval);
    CHECK(p.timeout == 1s);
    CHECK(p.thresholds.success_threshold == 1);
    CHECK(p.thresholds.failure_threshold == 3);
}

TEST_CASE("a probe handler given by a service replaces the default's handler") {
    TempTree t;
    t.write("mainstay.yaml", "defaults:\n  probes:\n    liveness: {tcp: \"127.0.0.1:1\", failure_threshold: 7}\n");
    t.write("services.d/web.yaml", "command: [web]\nprobes:\n  liveness: {exec: [check]}\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    const ProbeSpec& p = *service(*r.config, "web").probes.liveness;
    CHECK(std::holds_alternative<ExecProbe>(p.handler));
    CHECK(p.thresholds.failure_threshold == 7);
}

TEST_CASE("--services-dir and --log-level override the file") {
    TempTree t;
    t.write("mainstay.yaml", "services_dir: nowhere\nlog: {level: error}\n");
    t.write("other/web.yaml", "command: [web]\n");
    auto r = load({t.root() / "mainstay.yaml", t.root() / "other", std::string("trace"), {}});
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    CHECK(r.config->services.size() == 1);
    CHECK(r.config->main.log.level == LogLevel::trace);

    auto bad = load({t.root() / "mainstay.yaml", t.root() / "other", std::string("loud"), {}});
    CHECK_FALSE(bad.config);
    CHECK(all_messages(bad.diagnostics) ==
          "--log-level: error: must be one of trace, debug, info, warn, error, got 'loud'\n");
}

TEST_CASE("a missing main file is one error naming the file") {
    TempTree t;
    auto r = load_dir(t.root());
    CHECK_FALSE(r.config);
    CHECK(all_messages(r.diagnostics) ==
          (t.root() / "mainstay.yaml").string() + ":1:1: error: cannot read file: No such file or directory\n");
}

TEST_CASE("an absent default services directory is a warning, a named one an error") {
    TempTree t;
    t.write("mainstay.yaml", "log: {level: info}\n");
    auto r = load_dir(t.root());
    REQUIRE(r.config);
    CHECK(r.config->services.empty());
    CHECK(r.diagnostics.all().size() == 1);
    CHECK(r.diagnostics.all()[0].severity == Severity::warning);
}

TEST_CASE("x- keys are free at every level") {
    TempTree t;
    t.write("mainstay.yaml", "x-top: 1\nlog: {x-note: hi}\ndefaults: {x-d: 1}\n");
    t.write(
        "services.d/web.yaml",
        "command: [web]\nx-a: 1\nrestart: {x-b: 2, backoff: {x-c: 3}}\nprobes: {readiness: {tcp: \"h:1\", x-d: 4}}\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    CHECK(r.config);
    CHECK(r.diagnostics.all().empty());
}

TEST_CASE("config lookup: -c, then $MAINSTAY_CONFIG, then the standard places") {
    std::vector<std::string> tried;
    CHECK(find_config_file(Path("x.yaml"), Environment({{"MAINSTAY_CONFIG", "y.yaml"}}), tried) == Path("x.yaml"));
    CHECK(find_config_file(std::nullopt, Environment({{"MAINSTAY_CONFIG", "y.yaml"}}), tried) == Path("y.yaml"));
    CHECK(tried.empty());
    auto found = find_config_file(std::nullopt, Environment(), tried);
    CHECK(tried.at(0) == "config/mainstay.yaml");
    if (!found) CHECK(tried == std::vector<std::string>{"config/mainstay.yaml", "/etc/mainstay/mainstay.yaml"});
}

TEST_CASE("defaults may be partial: they are complete only merged with the service's own keys") {
    auto r = load_dir(std::filesystem::path(MAINSTAY_FIXTURES_DIR) / "good/partial_defaults");
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    const ServiceSpec& web = service(*r.config, "web");
    const ProbeSpec& p = *web.probes.readiness;
    CHECK(p.interval == 3s);                     // from defaults
    CHECK(p.thresholds.failure_threshold == 2);  // from the `<<: *base` merge key
    CHECK(p.thresholds.success_threshold == 2);  // the service's own
    CHECK(std::get<TcpProbe>(p.handler).address.port == 8080);
    CHECK(web.restart.backoff.max == 30s);
    CHECK(web.restart.backoff.initial == 1s);
    CHECK(service(*r.config, "gpu").wake->retry.max_attempts == 2);
}

TEST_CASE("a main file that is a directory is an error, not a crash") {
    TempTree t;
    t.write("mainstay.yaml/inside.txt", "x");
    auto r = load_dir(t.root());
    CHECK_FALSE(r.config);
    CHECK(all_messages(r.diagnostics) ==
          (t.root() / "mainstay.yaml").string() + ":1:1: error: cannot read file: it is a directory\n");
}

TEST_CASE("config lookup tries ./config/mainstay.yaml before /etc") {
    TempTree t;
    t.write("config/mainstay.yaml", "{}\n");
    auto old = std::filesystem::current_path();
    std::filesystem::current_path(t.root());
    std::vector<std::string> tried;
    auto found = find_config_file(std::nullopt, Environment(), tried);
    std::filesystem::current_path(old);
    CHECK(found == Path("config/mainstay.yaml"));
    CHECK(tried == std::vector<std::string>{"config/mainstay.yaml"});
}

TEST_CASE("depends_on: x- keys are free, a scalar value gets a message showing the form") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/a.yaml", "command: [a]\n");
    t.write("services.d/b.yaml", "command: [b]\ndepends_on: {x-note: {}, a: healthy}\n");
    auto r = load_dir(t.root());
    CHECK(all_messages(r.diagnostics) == (t.root() / "services.d/b.yaml").string() +
                                             ":2:29: error: dependency 'a' must be a map such as {condition: healthy, "
                                             "required: true}, got 'healthy'\n");
}
