// What a reload changes, part two (see diff_test.cpp): capabilities, main-file keys, a new
// services_dir, the summary and JSON forms, and same() comparing every member that matters.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "config/diff.hpp"
#include "config/loader.hpp"
#include "diff_support.hpp"

using namespace diff_support;
using namespace std::chrono_literals;

TEST_CASE("reload diff: capabilities added, removed, changed and unchanged") {
    const std::string llm = R"(kind: capability
description: Answer locally
requires: [app, gpu]
check: {http: {url: "http://127.0.0.1:8080/models", body_contains: llama}, timeout: 2s}
activate: [mode, local]
deactivate: "mode cloud"
monitor_interval: 5s
retry: {max_attempts: 2, timeout: 10s}
)";
    const Files services{{"app.yaml", "command: [app]\n"}, {"gpu.yaml", "command: [gpu]\n"}};
    auto with = [&](Files caps) {
        caps.insert(services.begin(), services.end());
        return caps;
    };
    SUBCASE("added, removed, kept") {
        const std::string cache = "kind: capability\nrequires: [app]\n";
        auto d =
            reload(with({{"llm.yaml", llm}, {"old.yaml", cache}}), with({{"llm.yaml", llm}, {"cache.yaml", cache}}));
        CHECK(d.added_capabilities == Names{"cache"});
        CHECK(d.removed_capabilities == Names{"old"});
        CHECK(d.unchanged_capabilities == Names{"llm"});
        CHECK(d.changed_capabilities.empty());
        CHECK(d.unchanged_services == Names{"app", "gpu"});
    }
    SUBCASE("reformatted, reordered requires, a new description: unchanged") {
        const std::string same = R"(# moved and reformatted
name: llm
kind: capability
retry:
  timeout: 10000ms
  max_attempts: 2
monitor_interval: 5000ms
deactivate: [mode, cloud]
activate: "mode local"
check:
  timeout: 2s
  http: {body_contains: "llama", url: "http://127.0.0.1:8080/models"}
requires: [gpu, app]
description: Answer with the local model
)";
        auto d = reload(with({{"llm.yaml", llm}}), with({{"20-llm.yml", same}}));
        CHECK(d.unchanged_capabilities == Names{"llm"});
        CHECK(d.empty());
    }
    SUBCASE("each behaviour change") {
        for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
                 {"requires: [app, gpu]", "requires: [app]"},
                 {"body_contains: llama", "body_contains: mistral"},
                 {"timeout: 2s", "timeout: 3s"},
                 {"check: {http: {url: \"http://127.0.0.1:8080/models\", body_contains: llama}, timeout: 2s}\n", ""},
                 {"activate: [mode, local]", "activate: [mode, remote]"},
                 {"activate: [mode, local]\n", ""},
                 {"deactivate: \"mode cloud\"", "deactivate: \"mode off\""},
                 {"monitor_interval: 5s", "monitor_interval: 6s"},
                 {"max_attempts: 2", "max_attempts: 3"},
                 {"timeout: 10s", "timeout: 11s"},
                 {"monitor_interval: 5s", "monitor_interval: 5s\nenabled: false"},
             }) {
            CAPTURE(from);
            auto d = reload(with({{"llm.yaml", llm}}), with({{"llm.yaml", replaced(llm, from, to)}}));
            CHECK(d.changed_capabilities == Names{"llm"});
            CHECK(d.unchanged_services == Names{"app", "gpu"});
        }
    }
}

TEST_CASE("reload diff: main-file keys that apply live are flagged, the others need a restart") {
    const Files services{{"web.yaml", "command: [web]\n"}};
    const std::string base = kMain + R"(log: {level: info, file: logs/m.log, max_size: 1MiB, max_files: 2, format: text}
status: {file: run/s.json, socket: run/c.sock, http: "127.0.0.1:9077", print_interval: 30s}
startup: {timeout: 60s}
on_critical_failure: degrade
shutdown: {timeout: 30s}
)";
    SUBCASE("live") {
        auto d = reload(services, services, base,
                        replaced(replaced(replaced(base, "level: info", "level: debug"), "print_interval: 30s",
                                          "print_interval: 0"),
                                 "127.0.0.1:9077", "127.0.0.1:9078"));
        CHECK(d.log_level_changed);
        CHECK(d.print_interval_changed);
        CHECK(d.http_changed);
        CHECK_FALSE(d.services_dir_changed);
        CHECK(d.needs_restart.empty());
        CHECK(d.applied() == Names{"log.level", "status.http", "status.print_interval"});
        CHECK(d.unchanged_services == Names{"web"});
        CHECK_FALSE(d.empty());
    }
    SUBCASE("http added or removed") {
        CHECK(reload(services, services, base, replaced(base, R"(http: "127.0.0.1:9077", )", "")).http_changed);
        CHECK(reload(services, services, replaced(base, R"(http: "127.0.0.1:9077", )", ""), base).http_changed);
    }
    SUBCASE("each key that needs a restart, by its YAML path") {
        for (const auto& [from, to, key] : std::vector<std::tuple<std::string, std::string, std::string>>{
                 {"file: logs/m.log", "file: logs/n.log", "log.file"},
                 {"max_size: 1MiB", "max_size: 2MiB", "log.max_size"},
                 {"max_files: 2", "max_files: 3", "log.max_files"},
                 {"format: text", "format: json", "log.format"},
                 {"file: run/s.json", "file: run/t.json", "status.file"},
                 {"socket: run/c.sock", "socket: run/d.sock", "status.socket"},
                 {"startup: {timeout: 60s}", "startup: {timeout: 61s}", "startup.timeout"},
                 {"on_critical_failure: degrade", "on_critical_failure: exit", "on_critical_failure"},
                 {"shutdown: {timeout: 30s}", "shutdown: {timeout: 31s}", "shutdown.timeout"},
             }) {
            CAPTURE(key);
            auto d = reload(services, services, base, replaced(base, from, to));
            CHECK(d.needs_restart == Names{key});
            CHECK(d.applied().empty());
            CHECK_FALSE(d.empty());
        }
    }
    SUBCASE("several, in the order of the file's schema") {
        auto d = reload(
            services, services, base,
            replaced(replaced(base, "socket: run/c.sock", "socket: run/d.sock"), "format: text", "format: json"));
        CHECK(d.needs_restart == Names{"log.format", "status.socket"});
    }
    SUBCASE("the same values spelled otherwise are no change") {
        auto d = reload(
            services, services, base,
            replaced(replaced(replaced(base, "max_size: 1MiB", "max_size: 1024KiB"), "timeout: 60s", "timeout: 1m"),
                     "socket: run/c.sock", "socket: ./run/c.sock"));
        CHECK(d.empty());
    }
}

TEST_CASE("reload diff: a new services_dir is read, so its services are the diff") {
    Tree t;
    t.files().write("other/web.yaml", "command: [web, --other]\n");
    Config before = t.load({{"web.yaml", "command: [web]\n"}});
    Config after = t.load({{"web.yaml", "command: [web]\n"}}, "services_dir: other\n");
    auto d = diff(before, after);
    CHECK(d.services_dir_changed);
    CHECK(d.applied() == Names{"services_dir"});
    CHECK(d.changed_services == Names{"web"});
    CHECK(d.needs_restart.empty());
}

TEST_CASE("reload diff: the summary names what changed, what applied and what needs a restart") {
    ConfigDiff d;
    d.added_services = {"web"};
    d.removed_services = {"old"};
    d.changed_services = {"api"};
    d.unchanged_services = {"a", "b", "c"};
    d.log_level_changed = true;
    d.needs_restart = {"status.socket"};
    CHECK(describe(d) ==
          "reload: 1 added (web), 1 removed (old), 1 changed (api), 3 unchanged; log.level applied; "
          "needs a restart: status.socket");
    d.changed_capabilities = {"llm"};
    d.unchanged_capabilities = {"cache"};
    d.http_changed = true;
    d.changed_services = {"api", "db"};
    CHECK(describe(d) ==
          "reload: 1 added (web), 1 removed (old), 2 changed (api, db), 3 unchanged; capabilities: 1 changed "
          "(llm), 1 unchanged; log.level, status.http applied; needs a restart: status.socket");

    ConfigDiff only_main;
    only_main.unchanged_services = {"a"};
    only_main.print_interval_changed = true;
    CHECK(describe(only_main) == "reload: 1 unchanged; status.print_interval applied");

    ConfigDiff nothing;
    nothing.unchanged_services = {"a", "b"};
    nothing.unchanged_capabilities = {"c"};
    CHECK(nothing.empty());
    CHECK(describe(nothing) == "reload: nothing changed (2 services, 1 capability)");
}

TEST_CASE("reload diff: the JSON form lists every name and key") {
    ConfigDiff d;
    d.added_services = {"web"};
    d.removed_services = {"old"};
    d.changed_services = {"api"};
    d.unchanged_services = {"db"};
    d.added_capabilities = {"cache"};
    d.removed_capabilities = {"gone"};
    d.changed_capabilities = {"llm"};
    d.unchanged_capabilities = {"same"};
    d.log_level_changed = true;
    d.needs_restart = {"log.file", "status.socket"};
    const auto expected = nlohmann::json::parse(R"({
        "services": {"added": ["web"], "removed": ["old"], "changed": ["api"], "unchanged": ["db"]},
        "capabilities": {"added": ["cache"], "removed": ["gone"], "changed": ["llm"], "unchanged": ["same"]},
        "applied": ["log.level"],
        "needs_restart": ["log.file", "status.socket"]})");
    CHECK(to_json(d) == expected);
    CHECK(to_json(ConfigDiff{}).dump() ==
          R"({"applied":[],"capabilities":{"added":[],"changed":[],"removed":[],"unchanged":[]},"needs_restart":[],)"
          R"("services":{"added":[],"changed":[],"removed":[],"unchanged":[]}})");
}

// Member by member on a spec of the complete fixture: every member that changes behaviour makes
// the specs differ, the others (positions, file, description, resolved ids) do not.
TEST_CASE("same(): every member of a service spec that changes behaviour is compared, and only those") {
    auto r = load(
        {std::filesystem::path(MAINSTAY_FIXTURES_DIR) / "good/complete/mainstay.yaml", std::nullopt, std::nullopt, {}});
    REQUIRE(r.config);
    const ServiceSpec* found = r.config->find_service("db");
    REQUIRE(found != nullptr);
    const ServiceSpec db = *found;
    REQUIRE(db.probes.startup);
    REQUIRE(db.probes.readiness);
    REQUIRE(std::holds_alternative<HttpProbe>(db.probes.readiness->handler));
    REQUIRE(db.limits == std::nullopt);
    CHECK(same(db, db));

    auto http = [](ServiceSpec& s) -> HttpProbe& { return std::get<HttpProbe>(s.probes.readiness->handler); };
    const std::vector<std::pair<const char*, std::function<void(ServiceSpec&)>>> changes{
        {"name", [](ServiceSpec& s) { s.name = "db2"; }},
        {"kind", [](ServiceSpec& s) { s.kind = Kind::oneshot; }},
        {"command", [](ServiceSpec& s) { s.command.push_back("-v"); }},
        {"shell", [](ServiceSpec& s) { s.shell = true; }},
        {"working_dir", [](ServiceSpec& s) { s.working_dir.reset(); }},
        {"env_file_vars", [](ServiceSpec& s) { s.env_file_vars.emplace_back("NEW", "1"); }},
        {"environment", [](ServiceSpec& s) { s.environment.front().second = "5433"; }},
        {"user", [](ServiceSpec& s) { s.user = "other"; }},
        {"group", [](ServiceSpec& s) { s.group.reset(); }},
        {"critical", [](ServiceSpec& s) { s.critical = !s.critical; }},
        {"enabled", [](ServiceSpec& s) { s.enabled = !s.enabled; }},
        {"ready_after", [](ServiceSpec& s) { s.ready_after += 1ms; }},
        {"depends_on",
         [](ServiceSpec& s) {
             s.depends_on.push_back({"x", Condition::healthy, true, {}});
         }},
        {"probes.startup", [](ServiceSpec& s) { s.probes.startup.reset(); }},
        {"probes.readiness.interval", [](ServiceSpec& s) { s.probes.readiness->interval += 1ms; }},
        {"probes.readiness.initial_delay", [](ServiceSpec& s) { s.probes.readiness->initial_delay += 1ms; }},
        {"probes.readiness.startup_interval", [](ServiceSpec& s) { s.probes.readiness->startup_interval = 1ms; }},
        {"probes.readiness.timeout", [](ServiceSpec& s) { s.probes.readiness->timeout += 1ms; }},
        {"probes.readiness.thresholds", [](ServiceSpec& s) { s.probes.readiness->thresholds.cache_ttl = 1ms; }},
        {"http.target", [&](ServiceSpec& s) { http(s).target.port += 1; }},
        {"http.method", [&](ServiceSpec& s) { http(s).method = "GET"; }},
        {"http.status", [&](ServiceSpec& s) { http(s).status.high = 599; }},
        {"http.headers", [&](ServiceSpec& s) { http(s).headers.emplace_back("X-New", "1"); }},
        {"http.unix_socket", [&](ServiceSpec& s) { http(s).unix_socket = "/run/x.sock"; }},
        {"http.body_contains", [&](ServiceSpec& s) { http(s).body_contains = "x"; }},
        {"probes.liveness", [](ServiceSpec& s) { s.probes.liveness = s.probes.startup; }},
        {"restart.policy", [](ServiceSpec& s) { s.restart.policy = RestartPolicy::never; }},
        {"restart.backoff", [](ServiceSpec& s) { s.restart.backoff.jitter_fraction += 0.1; }},
        {"restart.backoff.strategy",
         [](ServiceSpec& s) { s.restart.backoff.strategy = mainstay::resilience::BackoffStrategy::linear; }},
        {"restart.reset_after", [](ServiceSpec& s) { s.restart.reset_after += 1ms; }},
        {"restart.permanent_exit_codes", [](ServiceSpec& s) { s.restart.permanent_exit_codes.push_back(3); }},
        {"restart.circuit_breaker", [](ServiceSpec& s) { s.restart.circuit_breaker.half_open_max_calls += 1; }},
        {"recovery", [](ServiceSpec& s) { s.recovery.wake_fraction = 0.5; }},
        {"stop.signal", [](ServiceSpec& s) { s.stop.signal = 9; }},
        {"stop.command", [](ServiceSpec& s) { s.stop.command.reset(); }},
        {"limits",
         [](ServiceSpec& s) {
             s.limits = LimitsSpec{std::nullopt, std::nullopt, 10, {}};
         }},
        {"output", [](ServiceSpec& s) { s.output.console = false; }},
        {"wake",
         [](ServiceSpec& s) {
             s.wake = WakeSpec{{"wake"}, {}};
         }},
    };
    for (const auto& [what, change] : changes) {
        CAPTURE(what);
        ServiceSpec other = db;
        change(other);
        CHECK_FALSE(same(db, other));
        CHECK_FALSE(same(other, db));
    }

    const std::vector<std::pair<const char*, std::function<void(ServiceSpec&)>>> no_changes{
        {"description", [](ServiceSpec& s) { s.description = "another"; }},
        {"source", [](ServiceSpec& s) { s.source = "/elsewhere/db.yaml"; }},
        {"marks",
         [](ServiceSpec& s) {
             s.name_mark = s.command_mark = s.working_dir_mark = s.user_mark = s.group_mark = {"x.yaml", 9, 9};
             s.probes.readiness->mark = {"y.yaml", 1, 2};
         }},
        {"credentials",
         [](ServiceSpec& s) {
             s.credentials = Credentials{12345, 54321, {54321}};
         }},
        {"env_files", [](ServiceSpec& s) { s.env_files.push_back("/elsewhere/empty.env"); }},
        {"http.url", [&](ServiceSpec& s) { http(s).url = "http://127.0.0.1:8008/health?full=1#spelled-otherwise"; }},
        {"depends_on order",
         [](ServiceSpec& s) {
             s.depends_on = {{"b", Condition::started, false, {"f", 1, 1}},
                             {"a", Condition::healthy, true, {"f", 2, 1}}};
         }},
    };
    ServiceSpec with_deps = db;
    with_deps.depends_on = {{"a", Condition::healthy, true, {}}, {"b", Condition::started, false, {}}};
    for (const auto& [what, change] : no_changes) {
        CAPTURE(what);
        const ServiceSpec& base = std::string(what) == "depends_on order" ? with_deps : db;
        ServiceSpec other = base;
        change(other);
        CHECK(same(base, other));
    }
}

TEST_CASE("same(): every member of a capability spec that changes behaviour is compared, and only those") {
    auto r = load(
        {std::filesystem::path(MAINSTAY_FIXTURES_DIR) / "good/complete/mainstay.yaml", std::nullopt, std::nullopt, {}});
    REQUIRE(r.config);
    REQUIRE(r.config->capabilities.size() == 1);
    const CapabilitySpec cap = r.config->capabilities.front();
    REQUIRE(cap.check);
    CHECK(same(cap, cap));
    const std::vector<std::pair<const char*, std::function<void(CapabilitySpec&)>>> changes{
        {"name", [](CapabilitySpec& c) { c.name = "other"; }},
        {"enabled", [](CapabilitySpec& c) { c.enabled = !c.enabled; }},
        {"requires", [](CapabilitySpec& c) { c.requires_services.pop_back(); }},
        {"check", [](CapabilitySpec& c) { c.check->timeout += 1ms; }},
        {"activate", [](CapabilitySpec& c) { c.activate.reset(); }},
        {"deactivate", [](CapabilitySpec& c) { c.deactivate->push_back("now"); }},
        {"hook_retry", [](CapabilitySpec& c) { c.hook_retry.backoff.initial += 1ms; }},
        {"monitor_interval", [](CapabilitySpec& c) { c.monitor_interval += 1ms; }},
    };
    for (const auto& [what, change] : changes) {
        CAPTURE(what);
        CapabilitySpec other = cap;
        change(other);
        CHECK_FALSE(same(cap, other));
    }
    CapabilitySpec moved = cap;
    moved.description = "other words";
    moved.source = "/elsewhere/x.yaml";
    moved.name_mark = {"x.yaml", 3, 3};
    moved.requires_marks.assign(moved.requires_marks.size(), Mark{"x.yaml", 4, 4});
    std::reverse(moved.requires_services.begin(), moved.requires_services.end());
    moved.check->mark = {"x.yaml", 5, 5};
    CHECK(same(cap, moved));
}
