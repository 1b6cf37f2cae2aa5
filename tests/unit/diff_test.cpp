// config/diff: what a reload changes, on configurations written to a temporary tree and read by
// the real loader (before and after in the same directory, as a reload sees them), and on
// specs changed member by member.
#include "config/diff.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "config/loader.hpp"
#include "diff_support.hpp"
#include "test_support.hpp"

using namespace diff_support;
using namespace std::chrono_literals;

TEST_CASE("reload diff: services added, removed, changed and unchanged, each list in config order") {
    const Files before{{"a.yaml", "command: [a]\n"},
                       {"b.yaml", "command: [b]\n"},
                       {"c.yaml", "command: [c]\n"},
                       {"m-old.yaml", "command: [old]\n"},
                       {"n-older.yaml", "command: [older]\n"}};
    const Files after{{"a.yaml", "command: [a]\n"},
                      {"b.yaml", "command: [b, --new]\n"},
                      {"c.yaml", "command: [c]\n"},
                      {"d-web.yaml", "command: [web]\n"},
                      {"0-api.yaml", "command: [api]\n"}};
    auto d = reload(before, after);
    CHECK(d.added_services == Names{"0-api", "d-web"});
    CHECK(d.removed_services == Names{"m-old", "n-older"});
    CHECK(d.changed_services == Names{"b"});
    CHECK(d.unchanged_services == Names{"a", "c"});
    CHECK_FALSE(d.empty());
}

TEST_CASE("reload diff: the same files read again are no change") {
    auto d = reload(with_service(kService), with_service(kService));
    CHECK(d.empty());
    CHECK(d.unchanged_services == Names{"db", "svc"});
    CHECK(d.changed_services.empty());
    CHECK(d.needs_restart.empty());
}

TEST_CASE("a definition without its positions has no marks left and behaves the same") {
    Tree t;
    Config c = t.load(with_service(kService));
    for (const auto& spec : c.services) {
        const ServiceSpec bare = without_positions(spec);
        CHECK(same(spec, bare));
        CHECK(bare.name == spec.name);
        CHECK(bare.command == spec.command);
        CHECK(bare.name_mark.file.empty());
        CHECK(bare.name_mark.line == 0);
        CHECK(bare.command_mark.file.empty());
        for (const auto& d : bare.depends_on) CHECK(d.mark.file.empty());
        if (bare.probes.readiness) CHECK(bare.probes.readiness->mark.file.empty());
    }
    CHECK_FALSE(c.services.front().name_mark.file.empty());  // the loaded one keeps them
}

TEST_CASE("reload diff: a reformatted file leaves its service unchanged") {
    // The same definition: flow and block styles swapped, keys reordered, other quoting,
    // comments, a command string instead of a list, other spellings of durations, sizes,
    // numbers and signals, environment as a list, depends_on as a list (healthy and required
    // by default), exit codes and headers in another order, the url with its default port.
    const std::string reformatted = R"(# the server
restart: {reset_after: 60s, policy: 'always', permanent_exit_codes: [2, 78],
  circuit_breaker: {half_open_max_calls: 1, recovery_timeout: 30000ms, failure_threshold: 5, half_open_successes: 1},
  backoff: {max: 300s, initial: 1000ms, jitter: "full", multiplier: 2.0}}
limits:
  pids: 100
  cpu: 1.50
  memory: 1024MiB
stop:
  command: "server --stop"   # the same argv
  timeout: 10s
  signal: TERM
command: 'server --port 8080'
probes:
  liveness:
    tcp: 127.0.0.1:8080
  readiness:
    startup_interval: 0.05s
    interval: 5000ms
    http:
      body_contains: "ok"
      headers:
        X-B: '2'
        X-A: "1"
      unix_socket: "/run/s.sock"
      status: "200-399"
      method: GET
      url: http://127.0.0.1:80/ready
  startup:
    exec: "check start"
    failure_threshold: 3
    success_threshold: 1
    timeout: 1s
    interval: 10s
    initial_delay: 1000ms
environment: [A=1, "B=2"]
env_file: [svc.env]
working_dir: "/srv"
group: "nogroup"
user: nobody
enabled: yes
critical: no
ready_after: 2000ms
depends_on: [db]
recovery:
  max_total_time: 60m
  max_attempts: 7
output:
  file: true
  console: true
)";
    auto d = reload(with_service(kService), with_service(reformatted));
    CHECK(d.changed_services.empty());
    CHECK(d.unchanged_services == Names{"db", "svc"});
    CHECK(d.empty());
}

TEST_CASE("reload diff: a service moved to another file with the same name is unchanged, a new name is a new service") {
    const Files before{{"web.yaml", "command: [web]\n"}};
    SUBCASE("moved, named by name:") {
        auto d = reload(before, {{"50-web.yml", "name: web\ncommand: [web]\n"}});
        CHECK(d.unchanged_services == Names{"web"});
        CHECK(d.empty());
    }
    SUBCASE("renamed") {
        auto d = reload(before, {{"www.yaml", "command: [web]\n"}});
        CHECK(d.added_services == Names{"www"});
        CHECK(d.removed_services == Names{"web"});
        CHECK(d.unchanged_services.empty());
    }
}

TEST_CASE("reload diff: a new description alone restarts nothing") {
    auto d = reload({{"web.yaml", "description: old words\ncommand: [web]\n"}},
                    {{"web.yaml", "description: new words\ncommand: [web]\n"}});
    CHECK(d.unchanged_services == Names{"web"});
    CHECK(d.empty());
}

TEST_CASE("reload diff: the environment is compared as the child gets it") {
    SUBCASE("a variable moved from environment to env_file with its value is no change") {
        auto d = reload(with_service(kService),
                        with_service(replaced(kService, R"({A: "1", B: "2"})", R"({A: "1"})"), kEnvFile + "B=2\n"));
        CHECK(d.unchanged_services == Names{"db", "svc"});
        CHECK(d.empty());
    }
    SUBCASE("moved with another value, it is a change") {
        auto d = reload(with_service(kService),
                        with_service(replaced(kService, R"({A: "1", B: "2"})", R"({A: "1"})"), kEnvFile + "B=3\n"));
        CHECK(d.changed_services == Names{"svc"});
    }
    SUBCASE("environment wins over env_file, so an env_file value it hides changes nothing") {
        auto d = reload(with_service(kService), with_service(kService, kEnvFile + "A=hidden\n"));
        CHECK(d.empty());
    }
    SUBCASE("the env file's contents are read again") {
        auto d = reload(with_service(kService), with_service(kService, "E=2\n"));
        CHECK(d.changed_services == Names{"svc"});
    }
}

TEST_CASE("reload diff: a change of command, shell, kind or working_dir restarts the service") {
    check_each_is_a_change({
        {R"(command: [server, --port, "8080"])", R"(command: [server, --port, "8081"])"},
        {R"(command: [server, --port, "8080"])", R"(command: [server, "--port 8080"])"},
        {R"(command: [server, --port, "8080"])", "command: server --port 8080\nshell: true"},
        {"working_dir: /srv", "working_dir: /srv/www"},
        {"working_dir: /srv\n", ""},
    });
    auto d = reload({{"job.yaml", "command: [job]\n"}}, {{"job.yaml", "kind: oneshot\ncommand: [job]\n"}});
    CHECK(d.changed_services == Names{"job"});
}

TEST_CASE("reload diff: a change of environment, user or group restarts the service") {
    check_each_is_a_change({
        {R"(environment: {A: "1", B: "2"})", R"(environment: {A: "1", B: "3"})"},
        {R"(environment: {A: "1", B: "2"})", R"(environment: {A: "1", B: "2", C: ""})"},
        {R"(environment: {A: "1", B: "2"})", R"(environment: {A: "1"})"},
        {"env_file: svc.env\n", ""},
        {"user: nobody", "user: root"},
        {"user: nobody\n", ""},
        {"group: nogroup", "group: root"},
    });
}

TEST_CASE("reload diff: a change of critical, enabled or ready_after restarts the service") {
    check_each_is_a_change({
        {"critical: false", "critical: true"},
        {"enabled: true", "enabled: false"},
        {"ready_after: 2s", "ready_after: 3s"},
    });
}

TEST_CASE("reload diff: a change of depends_on restarts the service") {
    check_each_is_a_change({
        {"condition: healthy", "condition: started"},
        {"required: true", "required: false"},
        {"depends_on:\n  db: {condition: healthy, required: true}\n", ""},
    });
    auto d = reload(
        {{"a.yaml", "command: [a]\n"}, {"b.yaml", "command: [b]\n"}, {"web.yaml", "command: [web]\ndepends_on: [a]\n"}},
        {{"a.yaml", "command: [a]\n"},
         {"b.yaml", "command: [b]\n"},
         {"web.yaml", "command: [web]\ndepends_on: [b]\n"}});
    CHECK(d.changed_services == Names{"web"});
    CHECK(d.unchanged_services == Names{"a", "b"});
}

TEST_CASE("reload diff: a change of any probe, its handler or its timing restarts the service") {
    check_each_is_a_change({
        // handlers
        {"exec: [check, start]", "exec: [check, begin]"},
        {"exec: [check, start]", "tcp: \"127.0.0.1:1\""},
        {R"(liveness: {tcp: "127.0.0.1:8080"})", R"(liveness: {tcp: "127.0.0.1:8081"})"},
        {R"(liveness: {tcp: "127.0.0.1:8080"})", R"(liveness: {tcp: "localhost:8080"})"},
        {R"(url: "http://127.0.0.1/ready")", R"(url: "http://127.0.0.1/health")"},
        {R"(url: "http://127.0.0.1/ready")", R"(url: "http://127.0.0.1:8000/ready")"},
        {R"(url: "http://127.0.0.1/ready")", R"(url: "http://127.0.0.1/ready?x=1")"},
        {"method: GET", "method: HEAD"},
        {"status: 200-399", "status: 200"},
        {R"(X-B: "2")", R"(X-B: "3")"},
        {R"(, X-B: "2")", ""},
        {"unix_socket: /run/s.sock", "unix_socket: /run/t.sock"},
        {"body_contains: ok", "body_contains: fine"},
        // timing
        {"initial_delay: 1s", "initial_delay: 2s"},
        {"interval: 10s", "interval: 11s"},
        {"startup_interval: 50ms", "startup_interval: 60ms"},
        {"    startup_interval: 50ms\n", ""},
        {"timeout: 1s", "timeout: 2s"},
        {"success_threshold: 1", "success_threshold: 2"},
        {"failure_threshold: 3", "failure_threshold: 4"},
        // which probes there are
        {"  liveness: {tcp: \"127.0.0.1:8080\"}\n", ""},
        {"  liveness:", "  x-liveness:"},
    });
}

TEST_CASE("reload diff: a change of restart, backoff, circuit breaker or recovery restarts the service") {
    check_each_is_a_change({
        {"policy: always", "policy: on-failure"},
        {"initial: 1s", "initial: 2s"},
        {"max: 5m", "max: 6m"},
        {"multiplier: 2,", "multiplier: 3,"},
        {"jitter: full", "jitter: none"},
        {"reset_after: 1m", "reset_after: 2m"},
        {"permanent_exit_codes: [78, 2]", "permanent_exit_codes: [78]"},
        {"circuit_breaker: {failure_threshold: 5", "circuit_breaker: {failure_threshold: 6"},
        {"recovery_timeout: 30s", "recovery_timeout: 31s"},
        {"half_open_successes: 1", "half_open_successes: 2"},
        {"half_open_max_calls: 1", "half_open_max_calls: 2"},
        {"max_attempts: 7", "max_attempts: 8"},
        {"max_total_time: 1h", "max_total_time: 2h"},
    });
}

TEST_CASE("reload diff: a change of stop, output or limits restarts the service") {
    check_each_is_a_change({
        {"signal: SIGTERM", "signal: SIGINT"},
        {"timeout: 10s, command", "timeout: 20s, command"},
        {", command: [server, --stop]", ""},
        {"command: [server, --stop]", "command: [server, --halt]"},
        {"console: true", "console: false"},
        {"file: true", "file: false"},
        {"memory: 1GiB", "memory: 2GiB"},
        {"cpu: 1.5", "cpu: 2"},
        {"pids: 100", "pids: 101"},
        {"limits: {memory: 1GiB, cpu: 1.5, pids: 100}", "limits: {memory: 1GiB, pids: 100}"},
    });
}

TEST_CASE("reload diff: limits that set nothing are the same as no limits") {
    auto d = reload({{"web.yaml", "command: [web]\nlimits: {}\n"}}, {{"web.yaml", "command: [web]\n"}});
    CHECK(d.empty());
    CHECK(d.unchanged_services == Names{"web"});
}

TEST_CASE("reload diff: a change of an external service's wake restarts it") {
    const std::string gpu = R"(kind: external
probes: {readiness: {tcp: "10.1.2.3:8080"}}
wake:
  command: [wake-gpu, --now]
  retry: {max_attempts: 3, timeout: 2m, backoff: {initial: 5s}}
)";
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"--now", "--later"},
             {"max_attempts: 3", "max_attempts: 4"},
             {"timeout: 2m", "timeout: 3m"},
             {"initial: 5s", "initial: 6s"},
             {"wake:\n  command: [wake-gpu, --now]\n  retry: {max_attempts: 3, timeout: 2m, backoff: {initial: 5s}}\n",
              ""},
         }) {
        CAPTURE(from);
        auto d = reload({{"gpu.yaml", gpu}}, {{"gpu.yaml", replaced(gpu, from, to)}});
        CHECK(d.changed_services == Names{"gpu"});
    }
    auto same_wake =
        reload({{"gpu.yaml", gpu}}, {{"gpu.yaml", replaced(gpu, "[wake-gpu, --now]", "\"wake-gpu --now\"")}});
    CHECK(same_wake.empty());
}

TEST_CASE("reload diff: defaults show up through the services whose resolved spec they change") {
    const Files services{
        {"a.yaml", "command: [a]\n"}, {"b.yaml", "command: [b]\nstop: {timeout: 30s}\n"}, {"c.yaml", "command: [c]\n"}};
    auto d = reload(services, services, kMain + "defaults: {stop: {timeout: 5s}}\n",
                    kMain + "defaults: {stop: {timeout: 7s}}\n");
    CHECK(d.changed_services == Names{"a", "c"});
    CHECK(d.unchanged_services == Names{"b"});  // sets its own
    CHECK(d.needs_restart.empty());
    // The same default written another way is no change.
    auto same = reload(services, services, kMain + "defaults: {stop: {timeout: 5s}}\n",
                       kMain + "defaults:\n  stop:\n    timeout: 5000ms\n");
    CHECK(same.empty());
}
