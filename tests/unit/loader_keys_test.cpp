// Reading a configuration, part two (see loader_test.cpp): limits, log-file names, what is
// skipped in services_dir, user and group, output, tiers, exit codes, ready and depends_on
// restart, each error at its file, line and column.
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
#include "config/loader.hpp"
#include "loader_support.hpp"

using namespace loader_support;
using namespace std::chrono_literals;

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
