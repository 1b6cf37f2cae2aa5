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
#include "test_support.hpp"

using namespace mainstay::config;
using mainstay::testing::TempTree;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path kComplete = std::filesystem::path(MAINSTAY_FIXTURES_DIR) / "good/complete";

LoadResult load_dir(const std::filesystem::path& dir, Environment env = {}) {
    return load({dir / "mainstay.yaml", std::nullopt, std::nullopt, std::move(env)});
}

bool contains_text(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string all_messages(const Diagnostics& d) {
    std::string out;
    for (const auto& x : d.sorted()) out += format(x) + "\n";
    return out;
}

const ServiceSpec& service(const Config& c, std::string_view name) {
    const ServiceSpec* s = c.find_service(name);
    REQUIRE(s != nullptr);
    return *s;
}

}  // namespace

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

TEST_CASE("limits: memory as a size, cpu as a number of CPUs, pids as a count, each checked with its position") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/a.yaml", "command: [a]\nlimits: {memory: 2GiB, cpu: 1.5, pids: 512}\n");
    t.write("services.d/b.yaml", "command: [b]\nlimits: {cpu: 0.5}\n");
    t.write("services.d/c.yaml", "command: [c]\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    const auto& a = service(*r.config, "a").limits;
    REQUIRE(a);
    CHECK(a->memory == 2ULL * 1024 * 1024 * 1024);
    CHECK(a->cpu == 1.5);
    CHECK(a->pids == 512);
    const auto& b = service(*r.config, "b").limits;
    REQUIRE(b);
    CHECK_FALSE(b->memory);
    CHECK(b->cpu == 0.5);
    CHECK_FALSE(b->pids);
    CHECK_FALSE(service(*r.config, "c").limits);

    TempTree bad;
    bad.write("mainstay.yaml", "{}\n");
    bad.write("services.d/d.yaml", "command: [d]\nlimits: {memory: lots, cpu: 0, pids: 0, swap: 1}\n");
    bad.write("services.d/e.yaml", "command: [e]\nlimits: 2GiB\n");
    bad.write("services.d/f.yaml", "kind: external\nprobes: {readiness: {tcp: \"h:1\"}}\nlimits: {pids: 5}\n");
    auto rb = load_dir(bad.root());
    const std::string d = (bad.root() / "services.d/d.yaml").string();
    const std::string e = (bad.root() / "services.d/e.yaml").string();
    const std::string f = (bad.root() / "services.d/f.yaml").string();
    CHECK(all_messages(rb.diagnostics) ==
          d + ":2:18: error: 'memory' must be a size such as 4096, 512KiB or 10MiB, got 'lots'\n" + d +
              ":2:29: error: 'cpu' must be at least 0.01, got 0\n" + d +
              ":2:38: error: 'pids' must be from 1 to 2147483647, got 0\n" + d + ":2:41: error: unknown key 'swap'\n" +
              e + ":2:9: error: 'limits' must be a map, got '2GiB'\n" + f +
              ":3:1: error: 'limits' does not apply to kind external\n");
}

TEST_CASE("a service whose own log file would be mainstay's log file is an error at its name") {
    TempTree t;
    t.write("mainstay.yaml", "log: {file: logs/mainstay.log}\n");
    t.write("services.d/app.yaml", "name: mainstay\ncommand: [app]\n");
    t.write("services.d/web.yaml", "command: [web]\n");
    auto r = load_dir(t.root());
    CHECK_FALSE(r.config);
    const std::string log = (t.root() / "logs/mainstay.log").string();
    CHECK(all_messages(r.diagnostics) ==
          (t.root() / "services.d/app.yaml").string() + ":1:7: error: the output log of service 'mainstay' (" + log +
              ") would be mainstay's own log file (log.file: " + log + "): rename the service or change log.file\n");
}

TEST_CASE("a service named like the log file's stem is fine without log.file, with another name, or never started") {
    TempTree t;
    t.write("none/mainstay.yaml", "{}\n");
    t.write("none/services.d/mainstay.yaml", "command: [app]\n");
    t.write("other/mainstay.yaml", "log: {file: logs/main.log}\n");
    t.write("other/services.d/mainstay.yaml", "command: [app]\n");
    // An external service with no wake starts nothing, so it writes no log.
    t.write("external/mainstay.yaml", "log: {file: mainstay.log}\n");
    t.write("external/services.d/mainstay.yaml", "kind: external\nprobes: {readiness: {tcp: \"h:1\"}}\n");
    for (const char* dir : {"none", "other", "external"}) {
        INFO(dir);
        auto r = load_dir(t.root() / dir);
        INFO(all_messages(r.diagnostics));
        CHECK(r.config);
    }
}

TEST_CASE("a FIFO, a directory or a socket named *.yaml in services_dir is skipped with a warning, never opened") {
    namespace fs = std::filesystem;
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/web.yaml", "command: [web]\n");
    auto target = t.write("elsewhere/real.yaml", "command: [linked]\n");
    fs::create_symlink(target, t.root() / "services.d/linked.yaml");
    const fs::path dir = t.root() / "services.d";
    REQUIRE(::mkfifo((dir / "fifo.yaml").c_str(), 0600) == 0);
    fs::create_directory(dir / "folder.yaml");
    int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(sock != -1);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string sock_path = (dir / "sock.yml").string();
    REQUIRE(sock_path.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
    REQUIRE(::bind(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
    ::close(sock);

    // Opening the FIFO would block for ever: a regression must fail, not hang the suite.
    auto loading = std::async(std::launch::async, [&] { return load_dir(t.root()); });
    if (loading.wait_for(10s) != std::future_status::ready) {
        std::fprintf(stderr, "FATAL: loading a services directory holding a FIFO did not return within 10s\n");
        std::abort();
    }
    LoadResult r = loading.get();
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    std::vector<std::string> names;
    for (const auto& s : r.config->services) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"linked", "web"});
    CHECK(all_messages(r.diagnostics) ==
          (dir / "fifo.yaml").string() + ":1:1: warning: not a regular file: skipped (a FIFO)\n" +
              (dir / "folder.yaml").string() + ":1:1: warning: not a regular file: skipped (a directory)\n" +
              (dir / "sock.yml").string() + ":1:1: warning: not a regular file: skipped (a socket)\n");
}

TEST_CASE("user: and group: are resolved to ids when the configuration is read") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/as-user.yaml", "command: [a]\nuser: root\n");
    t.write("services.d/as-group.yaml", "command: [b]\ngroup: root\n");
    t.write("services.d/both.yaml", "command: [c]\nuser: root\ngroup: root\n");
    t.write("services.d/plain.yaml", "command: [d]\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    const ServiceSpec& as_user = service(*r.config, "as-user");
    REQUIRE(as_user.credentials);
    CHECK(as_user.credentials->uid == std::optional<uid_t>(0));
    CHECK(as_user.credentials->gid == 0u);  // the user's primary group
    CHECK(std::find(as_user.credentials->groups.begin(), as_user.credentials->groups.end(), 0u) !=
          as_user.credentials->groups.end());
    const ServiceSpec& as_group = service(*r.config, "as-group");
    REQUIRE(as_group.credentials);
    CHECK_FALSE(as_group.credentials->uid);  // mainstay's own
    CHECK(as_group.credentials->gid == 0u);
    CHECK(as_group.credentials->groups == std::vector<gid_t>{0});
    REQUIRE(service(*r.config, "both").credentials);
    CHECK(service(*r.config, "both").credentials->uid == std::optional<uid_t>(0));
    CHECK_FALSE(service(*r.config, "plain").credentials);
}

TEST_CASE("an unknown user or group is no load error: the service is left without credentials") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/a.yaml", "command: [a]\nuser: no-such-user-mainstay\n");
    t.write("services.d/b.yaml", "command: [b]\nuser: root\ngroup: no-such-group-mainstay\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    CHECK(r.diagnostics.all().empty());
    CHECK(service(*r.config, "a").user == "no-such-user-mainstay");
    CHECK_FALSE(service(*r.config, "a").credentials);
    CHECK_FALSE(service(*r.config, "b").credentials);
}

TEST_CASE("output: console and file, each true by default, for processes, oneshots and external services") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/a.yaml", "command: [a]\noutput: {console: false}\n");
    t.write("services.d/b.yaml", "command: [b]\n");
    t.write("services.d/c.yaml", "kind: external\nprobes: {readiness: {tcp: \"h:1\"}}\noutput: {file: false}\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    CHECK_FALSE(service(*r.config, "a").output.console);
    CHECK(service(*r.config, "a").output.file);
    CHECK(service(*r.config, "b").output.console);
    CHECK(service(*r.config, "b").output.file);
    CHECK(service(*r.config, "c").output.console);
    CHECK_FALSE(service(*r.config, "c").output.file);

    TempTree bad;
    bad.write("mainstay.yaml", "{}\n");
    bad.write("services.d/d.yaml", "command: [d]\noutput: {console: maybe, stderr: true}\n");
    auto rb = load_dir(bad.root());
    const std::string d = (bad.root() / "services.d/d.yaml").string();
    CHECK(all_messages(rb.diagnostics).find(d + ":2:19: error: 'console' must be true or false, got 'maybe'") !=
          std::string::npos);
    CHECK(all_messages(rb.diagnostics).find(d + ":2:26: error: unknown key 'stderr'") != std::string::npos);
}

TEST_CASE("main_only reads the main file and nothing of services_dir, so a broken service file does not matter") {
    TempTree t;
    t.write("mainstay.yaml", "status: {socket: run/ctl.sock}\n");
    t.write("services.d/web.yaml", "command: [web\n");  // broken YAML
    LoadOptions options{t.root() / "mainstay.yaml", std::nullopt, std::nullopt, {}};
    CHECK(!load(options).config);
    options.main_only = true;
    auto r = load(options);
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    CHECK(r.config->main.status.socket == t.root() / "run/ctl.sock");
    CHECK(r.config->services.empty());
}

TEST_CASE("a capability's tiers: best first, each with its requires, check and hooks") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/ollama.yaml", "command: [ollama, serve]\n");
    t.write("services.d/node.yaml", "kind: external\nprobes: {readiness: {tcp: \"127.0.0.1:9\"}}\n");
    t.write("services.d/llm.yaml",
            "kind: capability\n"
            "tiers:\n"
            "  - {name: local, requires: [ollama], check: {http: {url: \"http://127.0.0.1:11434/api/tags\"}},\n"
            "     activate: [llm-mode, local]}\n"
            "  - {name: node, requires: [node], activate: [llm-mode, node], deactivate: [llm-mode, off]}\n"
            "  - {name: cloud, activate: [llm-mode, cloud]}\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    const CapabilitySpec& c = r.config->capabilities.at(0);
    REQUIRE(c.tiers.size() == 3);
    CHECK(c.tiers[0].name == "local");
    CHECK(c.tiers[0].requires_services == std::vector<std::string>{"ollama"});
    CHECK(c.tiers[0].check);
    CHECK(c.tiers[0].activate == Argv{"llm-mode", "local"});
    CHECK(c.tiers[1].deactivate == Argv{"llm-mode", "off"});
    CHECK(c.tiers[2].requires_services.empty());
    CHECK_FALSE(c.tiers[2].check);
    CHECK(c.chain().size() == 3);
}

TEST_CASE("the plain form is one tier, named full") {
    auto r = load_dir(kComplete);
    REQUIRE(r.config);
    const auto chain = r.config->capabilities.at(0).chain();
    REQUIRE(chain.size() == 1);
    CHECK(chain[0].name == "full");
    CHECK(chain[0].requires_services == std::vector<std::string>{"app", "gpu"});
    CHECK(chain[0].activate == Argv{"mode", "local"});
}

TEST_CASE("tiers: mistakes are errors at their line") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/web.yaml", "command: [web]\n");
    t.write("services.d/llm.yaml",
            "kind: capability\n"
            "requires: [web]\n"
            "tiers:\n"
            "  - {name: local, requires: [web], activat: [x]}\n"
            "  - {name: local, requires: [ghost]}\n"
            "  - {name: cloud}\n"
            "  - {name: never}\n"
            "  - plain\n");
    auto r = load_dir(t.root());
    CHECK_FALSE(r.config);
    const std::string all = all_messages(r.diagnostics);
    INFO(all);
    CHECK(contains_text(all, "llm.yaml:2:1: error: with 'tiers', 'requires' belongs to each tier"));
    CHECK(contains_text(all, "llm.yaml:4:36: error: unknown key 'activat' in a tier (did you mean 'activate'?)"));
    CHECK(contains_text(all, "llm.yaml:5:12: error: tier 'local' twice (first at line 4)"));
    CHECK(contains_text(all, "tier 'local' of capability 'llm' requires unknown service 'ghost'"));
    CHECK(contains_text(all,
                        "llm.yaml:7:12: error: tier 'never' can never be active: tier 'cloud' before it requires "
                        "nothing and has no check"));
    CHECK(contains_text(all, "llm.yaml:8:5: error: a tier must be a map"));
}

TEST_CASE("success_exit_codes and on_exit are read, a wrong action is an error") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/jvm.yaml",
            "command: [java]\nsuccess_exit_codes: [143]\non_exit: {success: ignore, failure: shutdown}\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    const ServiceSpec& s = service(*r.config, "jvm");
    CHECK(s.success_exit_codes == std::vector<int>{143});
    CHECK(s.on_success == ExitAction::ignore);
    CHECK(s.on_failure == ExitAction::shutdown);
    CHECK(effective_exit_action(s, true) == ExitAction::ignore);
    ServiceSpec plain;
    CHECK(effective_exit_action(plain, true) == ExitAction::restart);  // policy always
    plain.restart.policy = RestartPolicy::on_failure;
    CHECK(effective_exit_action(plain, true) == ExitAction::ignore);
    CHECK(effective_exit_action(plain, false) == ExitAction::restart);
    plain.restart.policy = RestartPolicy::never;
    CHECK(effective_exit_action(plain, false) == ExitAction::ignore);

    t.write("services.d/jvm.yaml", "command: [java]\non_exit: {failure: explode}\n");
    auto bad = load_dir(t.root());
    CHECK_FALSE(bad.config);
    CHECK(contains_text(all_messages(bad.diagnostics), "jvm.yaml:2:20: error:"));
    CHECK(contains_text(all_messages(bad.diagnostics), "restart, ignore, shutdown"));
}

TEST_CASE("ready: log_line is read and checked as a regular expression") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/web.yaml", "command: [web]\nready: {log_line: \"Listening on [0-9]+\"}\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    CHECK(service(*r.config, "web").ready.log_line == std::optional<std::string>("Listening on [0-9]+"));
    t.write("services.d/web.yaml", "command: [web]\nready: {log_line: \"([\"}\n");
    auto bad = load_dir(t.root());
    CHECK_FALSE(bad.config);
    const std::string all = all_messages(bad.diagnostics);
    INFO(all);
    CHECK(contains_text(all, "web.yaml:2:19: error: ready.log_line is not a valid regular expression"));
}

TEST_CASE("ready: notify with a watchdog and fd are read and one source at most is taken") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/dockerd.yaml", "command: [dockerd]\nready: {notify: true, watchdog: 30s}\n");
    t.write("services.d/s6.yaml", "command: [s6d]\nready: {fd: 3}\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    CHECK(service(*r.config, "dockerd").ready.notify);
    CHECK(service(*r.config, "dockerd").ready.watchdog == std::optional<Duration>(std::chrono::seconds(30)));
    CHECK(service(*r.config, "s6").ready.fd == std::optional<int>(3));
    CHECK(service(*r.config, "s6").ready.pushed());

    t.write("services.d/dockerd.yaml", "command: [dockerd]\nready: {notify: true, fd: 4}\n");
    t.write("services.d/s6.yaml", "command: [s6d]\nready: {fd: 2, watchdog: 5s}\n");
    auto bad = load_dir(t.root());
    CHECK_FALSE(bad.config);
    const std::string all = all_messages(bad.diagnostics);
    INFO(all);
    CHECK(contains_text(all, "dockerd.yaml:2:8: error: 'ready' takes one source: notify, fd or log_line"));
    CHECK(contains_text(all, "s6.yaml:2:"));
    CHECK(contains_text(all, "ready.watchdog needs ready.notify: true"));

    t.write("services.d/dockerd.yaml", "command: [dockerd]\n");
    t.write("services.d/s6.yaml", "kind: oneshot\ncommand: [migrate]\nready: {notify: true}\n");
    auto oneshot = load_dir(t.root());
    CHECK_FALSE(oneshot.config);
    CHECK(contains_text(all_messages(oneshot.diagnostics), "'ready' does not apply to a oneshot"));
}

TEST_CASE("depends_on restart: true is read and is a change of definition") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/db.yaml", "command: [db]\n");
    t.write("services.d/app.yaml", "command: [app]\ndepends_on: {db: {restart: true}}\n");
    auto r = load_dir(t.root());
    INFO(all_messages(r.diagnostics));
    REQUIRE(r.config);
    REQUIRE(service(*r.config, "app").depends_on.size() == 1);
    CHECK(service(*r.config, "app").depends_on[0].restart);
    t.write("services.d/app.yaml", "command: [app]\ndepends_on: {db: {restart: false}}\n");
    auto again = load_dir(t.root());
    REQUIRE(again.config);
    CHECK_FALSE(service(*again.config, "app").depends_on[0].restart);
    CHECK_FALSE(same(service(*r.config, "app"), service(*again.config, "app")));
}
