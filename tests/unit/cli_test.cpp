#include "cli/cli.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <vector>

#include "cli/version.hpp"
#include "test_support.hpp"

using mainstay::testing::TempTree;

namespace {

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

Outcome run(std::vector<std::string> args, mainstay::config::Environment env = {}) {
    args.insert(args.begin(), "mainstay");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    int code = mainstay::cli::run(static_cast<int>(argv.size()), argv.data(), out, err, env);
    return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("--version prints the version and exits 0") {
    auto o = run({"--version"});
    CHECK(o.code == 0);
    CHECK(o.out == std::string("mainstay ") + MAINSTAY_VERSION + "\n");
}

TEST_CASE("--help lists the commands and exits 0") {
    auto o = run({"--help"});
    CHECK(o.code == 0);
    CHECK(o.out.find("check") != std::string::npos);
    CHECK(o.out.find("run") != std::string::npos);
    CHECK(o.out.find("--config") != std::string::npos);
}

TEST_CASE("an unknown command or option is a usage error, exit 64") {
    CHECK(run({"frobnicate"}).code == mainstay::cli::kExitUsage);
    CHECK(run({"check", "--bogus"}).code == mainstay::cli::kExitUsage);
}

TEST_CASE("check finds the file through $MAINSTAY_CONFIG when -c is absent") {
    TempTree t;
    auto file = t.write("conf/main.yaml", "services_dir: svc\n");
    t.write("conf/svc/web.yaml", "command: [web]\n");
    auto o =
        run({"check"}, mainstay::config::Environment({{"MAINSTAY_CONFIG", file.string()}, {"PATH", "/nonexistent"}}));
    CHECK(o.code == 0);
    CHECK(o.out == file.string() + ": ok: 1 service, 0 capabilities\n");
    CHECK(o.err == (t.root() / "conf/svc/web.yaml").string() + ":1:10: warning: executable not found: web\n");
}

TEST_CASE("check on an invalid file exits 2 and prints every error") {
    TempTree t;
    auto file = t.write("mainstay.yaml", "startup: {timeout: soon}\nshutdown: {timout: 1s}\n");
    auto o = run({"check", "-c", file.string()});
    CHECK(o.code == 2);
    CHECK(o.out.empty());
    CHECK(o.err == file.string() + ":1:1: warning: no services directory at " + (t.root() / "services.d").string() +
                       "; no services to run\n" + file.string() +
                       ":1:20: error: 'timeout' must be a duration such as 500ms, 10s, 5m, 1h or 1m30s, got 'soon'\n" +
                       file.string() + ":2:12: error: unknown key 'timout' (did you mean 'timeout'?)\n");
}

TEST_CASE("check --plan prints the planned start waves and stop order") {
    TempTree t;
    auto file = t.write("mainstay.yaml", "{}\n");
    t.write("services.d/a.yaml", "command: [a]\n");
    t.write("services.d/b.yaml", "command: [b]\ndepends_on: {a: {required: false}}\n");
    auto o = run({"check", "--plan", "-c", file.string()});
    CHECK(o.code == 0);
    CHECK(o.out.find("wave 1:\n    a (process)\n  wave 2:\n    b (process) after a healthy (soft)\n") !=
          std::string::npos);
    CHECK(o.out.find("stop order: [b] [a]") != std::string::npos);
}

TEST_CASE("check --plan shows what makes each service ready and which restart with a dependency") {
    TempTree t;
    auto file = t.write("mainstay.yaml", "{}\n");
    t.write("services.d/dockerd.yaml", "command: [dockerd]\nready: {notify: true, watchdog: 30s}\n");
    t.write("services.d/s6.yaml", "command: [s6d]\nready: {fd: 3}\n");
    t.write("services.d/web.yaml",
            "command: [web]\nready: {log_line: \"Listening on\"}\ndepends_on: {dockerd: {restart: true}}\n");
    t.write("services.d/plain.yaml", "command: [plain]\nready_after: 2s\n");
    t.write("services.d/migrate.yaml", "kind: oneshot\ncommand: [migrate]\n");
    auto o = run({"check", "--plan", "-c", file.string()});
    INFO(o.out << o.err);
    CHECK(o.code == 0);
    CHECK(o.out.find("readiness (what makes each one ready):\n") != std::string::npos);
    CHECK(
        o.out.find("  dockerd: READY=1 on its NOTIFY_SOCKET (sd_notify; watchdog: WATCHDOG=1 at least every 30s)\n") !=
        std::string::npos);
    CHECK(o.out.find("  s6: a newline on its fd 3 (s6 notification fd)\n") != std::string::npos);
    CHECK(o.out.find("  web: an output line matching \"Listening on\"\n") != std::string::npos);
    CHECK(o.out.find("  plain: up for 2s (ready_after; no readiness probe)\n") != std::string::npos);
    CHECK(o.out.find("  migrate: completed: its command exits 0 (oneshot)\n") != std::string::npos);
    CHECK(o.out.find("web (process) after dockerd healthy (restarts with it)\n") != std::string::npos);
}

TEST_CASE("run on an invalid configuration exits 2") {
    TempTree t;
    auto file = t.write("mainstay.yaml", "services_dir: missing\n");
    auto o = run({"run", "-c", file.string()});
    CHECK(o.code == 2);
    CHECK(o.err.find("services directory not found") != std::string::npos);
}

TEST_CASE("-c before the subcommand is honoured like -c after it") {
    TempTree t;
    auto bad = t.write("bad.yaml", "startup: {timeout: soon}\n");
    CHECK(run({"-c", bad.string(), "check"}).code == 2);
    CHECK(run({"check", "-c", bad.string()}).code == 2);
}

TEST_CASE("an unknown --log-level is a usage error") {
    TempTree t;
    auto file = t.write("mainstay.yaml", "{}\n");
    CHECK(run({"run", "-c", file.string(), "--log-level", "loud"}).code == mainstay::cli::kExitUsage);
    auto invalid = t.write("invalid.yaml", "services_dir: missing\n");
    CHECK(run({"run", "-c", invalid.string(), "--log-level", "debug"}).code == 2);  // parsed, then refused
}

TEST_CASE("check never echoes an escape sequence from a file's name or contents to the terminal") {
    TempTree t;
    auto file = t.write("mainstay.yaml", "{}\n");
    t.write("services.d/evil\x1b]0;owned\x07.yaml", "command: [/bin/true]\n\x1b[2Jbad: 1\n");
    auto o = run({"check", "-c", file.string()});
    CHECK(o.code == 2);
    CHECK(o.err.find('\x1b') == std::string::npos);
    CHECK(o.err.find('\x07') == std::string::npos);
    CHECK(o.err.find("evil?]0;owned?.yaml") != std::string::npos);  // the name, its control bytes as '?'
}

TEST_CASE("check refuses a status.http host that run could not listen on: a name other than localhost") {
    TempTree t;
    t.write("services.d/a.yaml", "command: [/bin/true]\n");
    auto named = run({"check", "-c", t.write("named.yaml", "status: {http: \"example.invalid:80\"}\n").string()});
    CHECK(named.code == 2);
    CHECK(named.err.find("error: 'http' must name an IP address or localhost to listen on, got 'example.invalid'") !=
          std::string::npos);
    for (const char* ok : {"localhost:9077", "127.0.0.1:9077", "\"[::1]:9077\""}) {
        INFO(ok);
        auto r = run({"check", "-c", t.write("ok.yaml", std::string("status: {http: ") + ok + "}\n").string()});
        CHECK(r.code == 0);
    }
}
