// Day two, from the operator's side (SPEC §1, §3, §5): what a person types after the first start
// when something failed and is being fixed, each against a real `mainstay run` with real
// children, through the real command line.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness.hpp"
#include "support/free_port.hpp"
#include "support/http_get.hpp"
#include "support/signal_guard.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

// A command line that goes on printing (`mainstay logs -f`): its stdout is read by a thread.
class Streaming {
public:
    explicit Streaming(std::vector<std::string> args) {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::dup2(fds[1], 1);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        fd_ = fds[0];
        reader_ = std::thread([this] {
            char buf[4096];
            for (;;) {
                const ssize_t n = ::read(fd_, buf, sizeof buf);
                if (n <= 0) return;
                std::lock_guard<std::mutex> lock(mutex_);
                text_.append(buf, static_cast<std::size_t>(n));
            }
        });
    }
    ~Streaming() {
        if (pid_ > 1) {
            signal_process(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
        reader_.join();
        ::close(fd_);
    }
    std::string text() {
        std::lock_guard<std::mutex> lock(mutex_);
        return text_;
    }

private:
    int pid_{-1};
    int fd_{-1};
    std::thread reader_;
    std::mutex mutex_;
    std::string text_;
};

const std::string kMigrate =
    "kind: oneshot\n"
    "shell: true\n"
    "command: \"n=$$(cat runs 2>/dev/null || echo 0); echo $$((n+1)) > runs; "
    "test -f fixed || { echo 'migrating...'; echo 'ERROR: relation users does not exist'; exit 1; }; echo migrated\"\n"
    "working_dir: ..\n"
    "restart: {policy: never}\n";

}  // namespace

TEST_CASE("day two: a failed oneshot, fixed, runs again with start --wait and its dependent starts after it") {
    Mainstay m(main_yaml(), {{"migrate", kMigrate},
                             {"web", ts("") + "ready_after: 100ms\ndepends_on: {migrate: {condition: completed}}\n"}});
    REQUIRE(m.wait_for("migrate: failed"));
    // The reason is in the service's own words, everywhere an operator looks.
    const std::string said = "exited with code 1: \"ERROR: relation users does not exist\"";
    CHECK(m.wait_for("migrate: failed (" + said));
    auto svc = service_of(m, "migrate");
    CHECK(contains(svc.value("reason", std::string()), said));
    CHECK(svc.value("last_output", std::string()) == "ERROR: relation users does not exist");
    CHECK(contains(cli(m, {"why", "web"}).out, said));
    CHECK(contains(cli(m, {"events", "migrate"}).out, said));
    CHECK(eventually([&] { return state_of(m, "web") == "blocked"; }));

    std::ofstream(m.dir() / "fixed") << "";
    auto started = cli(m, {"start", "migrate", "--wait"});
    INFO(started.out << started.err);
    CHECK(started.code == 0);
    CHECK(contains(started.out, "migrate: start requested"));
    CHECK(contains(started.out, "migrate: completed"));
    CHECK(read_lines(m.dir() / "runs").size() == 1);
    CHECK(read_lines(m.dir() / "runs")[0] == "2");
    // The dependent was blocked by the failure and starts by itself now.
    CHECK(eventually([&] { return state_of(m, "web") == "ready"; }));
    // restart of a completed oneshot runs it once more.
    auto again = cli(m, {"restart", "migrate", "--wait"});
    CHECK(again.code == 0);
    CHECK(contains(again.out, "migrate: completed"));
    CHECK(read_lines(m.dir() / "runs")[0] == "3");
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("day two: start and restart run again a service that is stopped, paused or recovering") {
    Mainstay m(main_yaml(),
               {{"once", ts("--exit-after 2000 --exit-code 0") + "restart: {policy: never}\nready_after: 10ms\n"},
                {"flaky", "command: [sh, -c, 'test -f ok || exit 3; exec " + std::string(TEST_SERVICE_PATH) +
                              "']\n"
                              "working_dir: ..\nready_after: 100ms\n"
                              "restart: {backoff: {initial: 1h, max: 1h, jitter: none}}\n"},
                {"valve", "command: [sh, -c, 'test -f ok || exit 4; exec " + std::string(TEST_SERVICE_PATH) +
                              "']\n"
                              "working_dir: ..\nready_after: 100ms\n"
                              "restart: {backoff: {initial: 10ms, jitter: none}}\nrecovery: {max_attempts: 2}\n"}});
    REQUIRE(m.wait_for("once: stopped (exited with code 0; restart policy is never)"));
    REQUIRE(eventually([&] { return state_of(m, "flaky") == "recovering"; }));
    REQUIRE(eventually([&] { return state_of(m, "valve") == "paused"; }));
    std::ofstream(m.dir() / "ok") << "";
    auto r = cli(m, {"restart", "once", "flaky", "valve", "--wait", "--timeout", "30s"});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(contains(r.out, "once: ready"));  // it exits again 2 s later: it was ready on the way
    CHECK(contains(r.out, "flaky: ready"));
    CHECK(contains(r.out, "valve: ready"));
    CHECK(cli(m, {"stop", "flaky", "valve", "--wait"}).code == 0);
    CHECK(state_of(m, "flaky") == "stopped");
    CHECK(state_of(m, "valve") == "stopped");
    auto all = cli(m, {"start", "--all", "--wait"});
    INFO(all.out << all.err);
    CHECK(all.code == 0);
    CHECK(contains(all.out, "flaky: ready"));
    CHECK(contains(all.out, "valve: ready"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("day two: --wait gives up at --timeout and says where each service is, refusals exit 1") {
    Mainstay m(main_yaml(), {{"db", "command: [db-not-installed]\nrestart: {backoff: {initial: 1h, max: 1h}}\n"},
                             {"web", ts("") + "ready_after: 50ms\ndepends_on: [db]\n"}});
    REQUIRE(eventually([&] { return state_of(m, "web") == "blocked"; }));
    REQUIRE(cli(m, {"stop", "web"}).code == 0);
    auto r = cli(m, {"start", "web", "--wait", "--timeout", "1s"});
    CHECK(r.code == 1);
    CHECK(contains(r.err, "web: not there within 1s: blocked (db is recovering"));
    auto refused = cli(m, {"stop", "db", "nope"});
    CHECK(refused.code == 1);
    CHECK(contains(refused.err, "no service named nope"));
    CHECK(contains(refused.out, "db: stop requested"));
    CHECK(cli(m, {"stop"}).code == 64);  // neither names nor --all
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("day two: mainstay signal reaches the named services' processes, and only those") {
    const std::string trap = "command: [sh, -c, 'trap \"echo got >> $$0.usr1\" USR1; while :; do sleep 0.05; done', ";
    Mainstay m(main_yaml(), {{"a", trap + "a]\nworking_dir: ..\nready_after: 50ms\n"},
                             {"b", trap + "b]\nworking_dir: ..\nready_after: 50ms\n"},
                             {"c", trap + "c]\nworking_dir: ..\nready_after: 50ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    auto r = cli(m, {"signal", "SIGUSR1", "a", "b"});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(contains(r.out, "a: SIGUSR1 sent"));
    CHECK(eventually(
        [&] { return std::filesystem::exists(m.dir() / "a.usr1") && std::filesystem::exists(m.dir() / "b.usr1"); }));
    CHECK(!std::filesystem::exists(m.dir() / "c.usr1"));
    CHECK(cli(m, {"signal", "NOPE", "a"}).code == 1);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("day two: logs NAME -n N prints its last lines, -f follows, from its file or from memory") {
    const std::string ticker =
        "command: [sh, -c, 'i=0; while :; do i=$$((i+1)); echo \"tick $$i\"; sleep 0.05; done']\nready_after: 50ms\n";
    Mainstay m(main_yaml(), {{"ticker", ticker},
                             {"quiet", ticker + "output: {file: false}\n"},
                             {"nowhere", ticker + "output: {console: false, file: false}\n"}});
    REQUIRE(m.wait_for("ticker | tick 30"));
    for (const std::string name : {"ticker", "quiet"}) {
        INFO(name);
        auto r = cli(m, {"logs", name, "-n", "3"});
        CHECK(r.code == 0);
        std::istringstream lines(r.out);
        std::vector<std::string> got;
        for (std::string l; std::getline(lines, l);) got.push_back(l);
        REQUIRE(got.size() == 3);
        CHECK(contains(got[2], " tick "));  // each with its time, as in the file
        // Consecutive: nothing lost or repeated between the file and what is still queued.
        const int first = std::stoi(got[0].substr(got[0].rfind(' ') + 1));
        CHECK(std::stoi(got[2].substr(got[2].rfind(' ') + 1)) == first + 2);
    }
    CHECK(std::filesystem::exists(m.dir() / "logs" / "ticker.log"));
    CHECK(!std::filesystem::exists(m.dir() / "logs" / "quiet.log"));
    auto all = cli(m, {"logs", "quiet", "-n", "1000"});
    CHECK(std::count(all.out.begin(), all.out.end(), '\n') >= 30);  // memory keeps 100 lines
    // Output that goes nowhere is not read at all: nothing to show, and it says why.
    auto nowhere = cli(m, {"logs", "nowhere"});
    CHECK(nowhere.code == 1);
    CHECK(contains(nowhere.err, "nowhere: its output goes nowhere (output: {console: false, file: false})"));

    Streaming follow({MAINSTAY_BINARY, "logs", "ticker", "-n", "1", "-f", "-c", (m.dir() / "mainstay.yaml").string()});
    std::string first_text;
    REQUIRE(eventually([&] { return !(first_text = follow.text()).empty(); }));
    const int from = std::stoi(first_text.substr(first_text.rfind(' ') + 1));
    CHECK(eventually([&] { return contains(follow.text(), "tick " + std::to_string(from + 5) + "\n"); }));

    auto unknown = cli(m, {"logs", "nope"});
    CHECK(unknown.code == 1);
    CHECK(contains(unknown.err, "no service named nope"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("day two: a probe failure names its target") {
    const int port = free_port();
    Mainstay m(main_yaml(), {{"api", ts("") + "probes: {readiness: {http: \"http://127.0.0.1:" + std::to_string(port) +
                                         "/health\", failure_threshold: 1, interval: 100ms}}\n"}});
    CHECK(m.wait_for("api: unhealthy (readiness probe http://127.0.0.1:" + std::to_string(port) + "/health failed: "));
    CHECK(contains(service_of(m, "api").value("reason", std::string()), "readiness probe http://127.0.0.1:"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE(
    "day two: the running instance is controlled while its files are broken: --socket, $MAINSTAY_SOCKET, "
    "./mainstay.yaml") {
    Mainstay m(main_yaml(), {{"web", ts("") + "ready_after: 50ms\n"}, {"other", ts("") + "ready_after: 50ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    // An edit in progress: an unknown key and a YAML error in the main file, a broken service file.
    { std::ofstream(m.dir() / "mainstay.yaml", std::ios::app) << "tyop: 1\nstartup: {timeout: [\n"; }
    { std::ofstream(m.dir() / "services.d" / "web.yaml", std::ios::app) << "restart: {policy: sometimes}\n"; }
    REQUIRE(cli(m, {"check"}).code == 2);
    CHECK(cli(m, {"status"}).code == 0);
    CHECK(cli(m, {"logs", "web"}).code == 0);
    auto stopped = cli(m, {"stop", "web", "--wait"});
    INFO(stopped.out << stopped.err);
    CHECK(stopped.code == 0);
    CHECK(contains(stopped.out, "web: stopped"));
    const std::string socket = (m.dir() / "run" / "control.sock").string();
    auto by_flag = run_cli({"status", "--socket", socket, "other"});
    CHECK(by_flag.code == 1);  // web is stopped: degraded
    CHECK(contains(by_flag.out, "other"));
    auto by_env = run_command({"/usr/bin/env", "MAINSTAY_SOCKET=" + socket, MAINSTAY_BINARY, "start", "web", "--wait"});
    CHECK(by_env.code == 0);
    auto here =
        run_command({"/bin/sh", "-c", "cd " + m.dir().string() + " && exec " + MAINSTAY_BINARY + " status --json"});
    CHECK(here.code == 0);
    CHECK(contains(here.out, "\"mode\":\"full\""));
    // reload checks the files first: they are broken, so the instance is not asked (exit 2), nothing changes.
    auto reload = cli(m, {"reload"});
    CHECK(reload.code == 2);
    CHECK(contains(reload.err, "mainstay.yaml:"));
    CHECK(state_of(m, "web") == "ready");
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("day two: what the files say is what happens: description, ready_when, unknown names, the watch's time") {
    const int port = free_port();
    const std::string main =
        "services_dir: services.d\n"
        "log: {file: logs/mainstay.log, level: debug}\n"
        "status: {socket: run/control.sock, file: run/status.json, http: \"127.0.0.1:" +
        std::to_string(port) +
        "\", ready_when: full}\n"
        "shutdown: {timeout: 20s}\n";
    Mainstay m(main, {{"web", ts("") + "description: The web front\nready_after: 50ms\n"},
                      {"docker", "command: [dockerd-not-here]\n"}});
    REQUIRE(m.wait_for("mode: degraded"));
    CHECK(service_of(m, "web").value("description", std::string()) == "The web front");
    CHECK(contains(cli(m, {"why", "web"}).out, "The web front"));
    CHECK(get(port, "/readyz").rfind("HTTP/1.1 503", 0) == 0);  // degraded, and ready_when: full
    CHECK(get(port, "/status").find("\"description\": \"The web front\"") != std::string::npos);
    CHECK(cli(m, {"why", "nope"}).code == 1);
    auto events = cli(m, {"events", "nope"});
    CHECK(events.code == 1);
    CHECK(contains(events.err, "nope"));
    Streaming watch({MAINSTAY_BINARY, "status", "--watch", "-c", (m.dir() / "mainstay.yaml").string()});
    CHECK(eventually([&] {
        const std::string t = watch.text();
        return t.size() > 20 && t[0] == '\n' && t[5] == '-' && t[14] == ':';  // "\n2026-12-06 08:00:01"
    }));
    REQUIRE(cli(m, {"stop", "docker", "--wait"}).code == 0);
    // Stopped by hand is not ready either: still 503 until ready_when's mode comes.
    CHECK(get(port, "/readyz").rfind("HTTP/1.1 503", 0) == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("day two: mode full waits for every capability to be on its best tier, not on its way there") {
    Mainstay m(main_yaml(), {{"web", ts("") + "ready_after: 50ms\n"},
                             {"fast-path", "kind: capability\nrequires: [web]\nactivate: [sh, -c, 'sleep 2']\n"}});
    REQUIRE(m.wait_for("fast-path: upgrading"));
    auto during = cli(m, {"status", "--json"});
    CHECK(contains(during.out, "\"mode\":\"degraded\""));
    CHECK(during.code == 1);
    REQUIRE(m.wait_for("mode: full"));
    CHECK(cli(m, {"status"}).code == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("day two: check warns about shell operators in a command run without a shell, counts in the singular") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-check-XXXXXX").string();
    const std::filesystem::path dir = ::mkdtemp(tmpl.data());
    std::filesystem::create_directories(dir / "services.d");
    std::ofstream(dir / "mainstay.yaml") << "services_dir: services.d\n";
    std::ofstream(dir / "services.d" / "migrate.yaml") << "kind: oneshot\ncommand: /bin/echo migrate | tee out.log\n";
    std::ofstream(dir / "services.d" / "piped.yaml")
        << "kind: oneshot\nshell: true\ncommand: /bin/echo migrate | tee out.log\n";
    std::ofstream(dir / "services.d" / "llm.yaml") << "kind: capability\nrequires: [piped]\n";
    auto r = run_cli({"check", "-c", (dir / "mainstay.yaml").string()});
    CHECK(r.code == 0);
    CHECK(contains(r.err, "migrate.yaml:2:10: warning: 'command' runs without a shell: '|' is passed to /bin/echo"));
    CHECK(!contains(r.err, "piped.yaml"));
    CHECK(contains(r.out, ": ok: 2 services, 1 capability\n"));
    std::filesystem::remove_all(dir);
}
