// mainstay run with real processes, part two (see supervision_test.cpp): probes that hang,
// capability markers, an external service woken, a critical exit, open-files limits, a stop
// signal while loading, where output goes, exit codes and the ready line.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>
#include <utility>

#include "harness.hpp"
#include "support/free_port.hpp"
#include "support/machine.hpp"
#include "support/pid_file.hpp"
#include "support/signal_guard.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

TEST_CASE(
    "Docker is down: degraded at once with the rest ready, when it comes back the blocked one starts, mode full") {
    const int port = free_port();
    const auto begin = Clock::now();
    Mainstay m(main_yaml(), {{"a", ts("--listen " + std::to_string(port) + " --healthy-file healthy") +
                                       "working_dir: ..\n"
                                       "probes: {readiness: {tcp: \"127.0.0.1:" +
                                       std::to_string(port) +
                                       "\","
                                       " interval: 100ms, timeout: 500ms, failure_threshold: 2}}\n"},
                             {"b", ts("") + "ready_after: 200ms\ndepends_on: {a: {required: false}}\n"},
                             {"c", ts("") + "ready_after: 200ms\ndepends_on: [a]\n"},
                             {"d", ts("") + "ready_after: 200ms\n"}});
    auto degraded = m.wait_for("mode: degraded");
    REQUIRE(degraded);
    CHECK(Clock::now() - begin < 5s);  // a's first attempt (two probes, 500 ms timeout) plus a margin
    CHECK(degraded->find("c blocked (a is unhealthy)") != std::string::npos);
    CHECK(m.wait_for("b: ready"));
    CHECK(m.wait_for("d: ready"));
    CHECK(m.count("c: running") == 0);
    std::ofstream(m.dir() / "healthy") << "";  // the engine comes back
    CHECK(m.wait_for("a: ready"));
    CHECK(m.wait_for("c: running"));
    CHECK(m.wait_for("mode: full"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("a probe against a peer that accepts and never answers delays nothing else, its timeout holds") {
    const int hang = free_port(), live = free_port();
    Mainstay m(main_yaml(), {{"stuck", ts("--listen " + std::to_string(hang) + " --http --hang") +
                                           "probes: {readiness: {http: \"http://127.0.0.1:" + std::to_string(hang) +
                                           "/\","
                                           " initial_delay: 500ms, timeout: 2s, failure_threshold: 1}}\n"},
                             {"quick", ts("--listen " + std::to_string(live)) +
                                           "probes: {readiness: {tcp: \"127.0.0.1:" + std::to_string(live) +
                                           "\", startup_interval: 10ms}}\n"}});
    const auto begin = Clock::now();
    REQUIRE(m.wait_for("quick: ready"));
    CHECK(Clock::now() - begin < 1500ms);  // well inside stuck's 2 s probe timeout
    CHECK(m.count("stuck: unhealthy") == 0);
    CHECK(m.wait_for("stuck: unhealthy (readiness probe http://127.0.0.1:" + std::to_string(hang) +
                     "/ failed: timed out after 2s)"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE(
    "a capability for real: degraded -> full with activate once when its service is ready, deactivate when it dies") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-cap-XXXXXX").string();
    std::filesystem::path work = ::mkdtemp(tmpl.data());
    const auto marker = (work / "active").string();
    const auto count = (work / "activations").string();
    Mainstay m(main_yaml(),
               {{"model", ts("--pid-file " + (work / "model.pid").string()) + "ready_after: 100ms\n"
                                                                              "restart: {backoff: {initial: 30s}}\n"},
                {"llm",
                 "kind: capability\nrequires: [model]\n"
                 "activate: [sh, -c, 'touch " +
                     marker + "; echo x >> " + count +
                     "']\n"
                     "deactivate: [rm, -f, " +
                     marker + "]\n"}});
    CHECK(m.wait_for("capability llm: full"));
    CHECK(std::filesystem::exists(marker));
    REQUIRE(eventually([&] { return read_pid(work / "model.pid") > 1; }));  // written just after its start
    REQUIRE(signal_process(read_pid(work / "model.pid"), SIGKILL));
    CHECK(m.wait_for("capability llm: degraded"));
    CHECK(eventually([&] { return !std::filesystem::exists(marker); }));
    CHECK(read_lines(count).size() == 1);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
}

TEST_CASE("a capability's marker: removed at shutdown, at a boot with its service down, a stale one is removed") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-cap-XXXXXX").string();
    std::filesystem::path work = ::mkdtemp(tmpl.data());
    const auto marker = (work / "active").string();
    const std::string llm =
        "kind: capability\nrequires: [model]\n"
        "activate: [touch, " +
        marker +
        "]\n"
        "deactivate: [rm, -f, " +
        marker + "]\n";
    SUBCASE("shutdown") {
        Mainstay m(main_yaml(), {{"model", ts("") + "ready_after: 100ms\n"}, {"llm", llm}});
        REQUIRE(m.wait_for("capability llm: full"));
        CHECK(std::filesystem::exists(marker));
        m.signal(SIGTERM);
        CHECK(m.wait_exit() == 0);
        CHECK_FALSE(std::filesystem::exists(marker));
        // The last deactivate ran before the service was stopped.
        auto lines = m.lines();
        auto at = [&](const std::string& text) {
            return std::find_if(lines.begin(), lines.end(),
                                [&](const std::string& l) { return l.find(text) != std::string::npos; });
        };
        CHECK(at("capability llm: degraded (shutting down)") < at("model: stopping"));
    }
    SUBCASE("boot with the service down") {
        std::ofstream(marker) << "";  // left by a run that crashed while FULL
        Mainstay m(main_yaml(), {{"model", "command: /nonexistent/model-server\nrestart: {backoff: {initial: 30s}}\n"},
                                 {"llm", llm}});
        REQUIRE(m.wait_for("mode: degraded"));
        CHECK(eventually([&] { return !std::filesystem::exists(marker); }));
        CHECK(m.wait_for("capability llm: degraded at the end of the startup phase"));
        m.signal(SIGTERM);
        CHECK(m.wait_exit() == 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
}

TEST_CASE("an external service woken with success is ready within a second of its listener appearing, interval 10s") {
    // The test's own listener stands for the remote side: bound to port 0 to learn a free port.
    auto listen_on = [](int port) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    };
    int fd = listen_on(0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const int port = ntohs(a.sin_port);
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-wake-XXXXXX").string();
    std::filesystem::path work = ::mkdtemp(tmpl.data());
    const auto woken = work / "woken";
    Mainstay m(main_yaml(), {{"gpu",
                              "kind: external\n"
                              "probes: {readiness: {tcp: \"127.0.0.1:" +
                                  std::to_string(port) +
                                  "\","
                                  " interval: 10s, timeout: 1s, failure_threshold: 1}}\n"
                                  "wake: {command: [sh, -c, 'echo woken >> " +
                                  woken.string() +
                                  "'],"
                                  " retry: {max_attempts: 3, timeout: 30s}}\n"}});
    REQUIRE(m.wait_for("gpu: ready"));
    ::close(fd);  // the remote side goes away: within one interval it is found down and woken
    REQUIRE(eventually([&] { return !read_lines(woken).empty(); }));
    REQUIRE(m.wait_for("gpu: unhealthy"));
    std::this_thread::sleep_for(50ms);  // the remote side takes a moment to come up (not a wait for an event)
    fd = listen_on(port);
    REQUIRE(fd >= 0);
    const auto listening = Clock::now();
    REQUIRE(eventually([&] { return m.count("gpu: ready") == 2; }));
    CHECK(Clock::now() - listening < 1s);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    ::close(fd);
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
}

TEST_CASE("on_critical_failure: exit: a critical service failing for good stops everything, exit 1") {
    Mainstay m(
        "services_dir: services.d\non_critical_failure: exit\nstatus: {socket: run/control.sock}\n",
        {{"core", ts("--exit-after 200 --exit-code 78") + "critical: true\nrestart: {permanent_exit_codes: [78]}\n"},
         {"other", ts("")}});
    CHECK(m.wait_exit() == 1);
    CHECK(m.wait_for("mode: critical"));
    CHECK(m.wait_for("other: stopped"));
}

TEST_CASE("the harness never signals a pid it did not get from a successful spawn") {
    // `true` ignores mainstay's arguments and exits at once: the prefix has no child. Before,
    // pid() was -1 here and the destructor sent kill(-1, SIGKILL), which as root ends every
    // process on the machine. (Signal 0 below: even a regression sends nothing harmful.)
    Mainstay m(main_yaml(), {}, {}, {"true"});
    CHECK(m.pid(std::chrono::milliseconds(200)) == -1);
    CHECK_FALSE(m.signal(0));
    CHECK_FALSE(signal_process(-1, 0));
    CHECK_FALSE(signal_process(0, 0));
    CHECK_FALSE(signal_process(1, 0));
    CHECK_FALSE(signal_group(1, 0));
    CHECK_FALSE(alive(-1));
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("out of file descriptors: a start fails with a reason and is retried, mainstay does not abort") {
    // 64 open files for 60 services: mainstay holds a pipe per running service, so some starts
    // find none left. Before, Boost threw
    // "eventfd_select_interrupter: Too many open files" through the loop and mainstay aborted.
    std::vector<std::pair<std::string, std::string>> services;
    for (int i = 0; i < 60; ++i) {
        services.push_back(
            {"s" + std::to_string(i), ts("") + "restart: {backoff: {initial: 20ms, max: 100ms, jitter: none}, "
                                               "circuit_breaker: {failure_threshold: 100000}}\n"});
    }
    Mainstay m(main_yaml(), services, {}, {}, true, {}, std::make_pair(64UL, 64UL));
    CHECK(m.wait_for("too many open files"));
    CHECK(m.wait_for("s0: running"));
    // Still supervising: it answers a stop signal with a clean shutdown.
    CHECK(alive(m.pid()));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    CHECK(m.count("internal error") == 0);
}

TEST_CASE("the soft open-files limit is raised to the hard one, services get the limit mainstay was started with") {
    Mainstay m(main_yaml(), {{"svc", ts("--pid-file svc.pid") + "working_dir: ..\n"}}, {}, {}, true, {},
               std::make_pair(256UL, 4096UL));
    REQUIRE(m.wait_for("open files: soft limit 256 -> 4096"));
    REQUIRE(eventually([&] { return read_pid(m.dir() / "svc.pid") > 1; }));
    auto limit_of = [](int pid) {
        for (const auto& line : read_lines("/proc/" + std::to_string(pid) + "/limits")) {
            if (line.rfind("Max open files", 0) == 0) return line;
        }
        return std::string();
    };
    CHECK(limit_of(m.pid()).find("4096                 4096") != std::string::npos);
    CHECK(limit_of(read_pid(m.dir() / "svc.pid")).find("256                  4096") != std::string::npos);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("a stop signal while the configuration is still loading ends mainstay at once") {
    // The main file is a FIFO nobody writes (as `-c <(...)` is a pipe): opening it blocks the
    // load until a writer comes, as a hung network file system would. The first Mainstay only
    // writes the directory (`true` runs instead of mainstay); the second runs on the FIFO.
    Mainstay writer(main_yaml(), {{"svc", ts("")}}, {}, {"true"});
    REQUIRE(writer.wait_exit() == 0);
    const auto main_file = writer.dir() / "mainstay.yaml";
    std::filesystem::remove(main_file);
    REQUIRE(::mkfifo(main_file.c_str(), 0600) == 0);
    Mainstay m(writer.dir());
    // mainstay is blocked opening the FIFO once /proc shows it waiting there (the wait channel
    // names the FIFO, or the system call in progress is openat).
    REQUIRE(eventually(
        [&] {
            const std::string proc = "/proc/" + std::to_string(m.pid());
            std::string wchan, syscall;
            std::ifstream(proc + "/wchan") >> wchan;
            std::ifstream(proc + "/syscall") >> syscall;
            return wchan.find("fifo") != std::string::npos || syscall == std::to_string(SYS_openat);
        },
        10s));
    m.signal(SIGTERM);
    CHECK(m.wait_exit(10s) == 0);  // before: killed by SIGTERM (143), or as PID 1 never ended
    CHECK(m.wait_for("stop signal received while loading the configuration"));
}

TEST_CASE("output: console false keeps a service's lines off the console but in its file, file false the other way") {
    Mainstay m(main_yaml(), {{"quiet", ts("--print-lines 3 --line-length 20 --stay") + "output: {console: false}\n"},
                             {"nofile", ts("--print-lines 3 --line-length 20 --stay") + "output: {file: false}\n"}});
    REQUIRE(m.wait_for("nofile | line 2"));
    REQUIRE(eventually([&] { return read_lines(m.dir() / "logs/quiet.log").size() >= 3; }));
    CHECK(m.count("quiet | ") == 0);
    CHECK_FALSE(std::filesystem::exists(m.dir() / "logs/nofile.log"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("a wake command's output is labelled NAME/wake and goes to the service's own file") {
    const int port = free_port();  // nothing listens there: the node stays down and is woken
    Mainstay m(main_yaml(), {{"node",
                              "kind: external\n"
                              "probes: {readiness: {tcp: \"127.0.0.1:" +
                                  std::to_string(port) +
                                  "\", interval: 10s}}\n"
                                  "wake: {command: [sh, -c, 'echo waking the node'], retry: {max_attempts: 1}}\n"}});
    CHECK(m.wait_for("node/wake | waking the node"));
    CHECK(eventually([&] {
        for (const auto& l : read_lines(m.dir() / "logs/node.log")) {
            if (l.find("waking the node") != std::string::npos) return true;
        }
        return false;
    }));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE(
    "exit codes: 143 with success_exit_codes is stopped, and on_exit failure shutdown ends mainstay with the code") {
    Mainstay m(main_yaml(), {{"jvm",
                              "command: [sh, -c, 'sleep 0.2; exit 143']\nsuccess_exit_codes: [143]\n"
                              "restart: {policy: on-failure}\n"},
                             {"db", ts("") + "ready_after: 100ms\n"},
                             {"app",
                              "command: [sh, -c, 'sleep 1; echo giving up; exit 7']\n"
                              "depends_on: [db]\non_exit: {failure: shutdown}\n"}});
    CHECK(m.wait_for("jvm: stopped (exited with code 143 (a success exit code); restart policy is on-failure)"));
    CHECK(m.wait_for("app: on_exit: shutdown: stopping everything; mainstay exits with 7"));
    CHECK(m.wait_for("db: stopped"));
    CHECK(m.wait_exit() == 7);
    CHECK(m.count("jvm: recovering") == 0);
}

TEST_CASE("ready: log_line: ready at the first matching line, even when the output goes nowhere") {
    const std::string script =
        "command: [sh, -c, 'echo starting; sleep 1; echo \"Listening on 8080\"; exec sleep 1000']\n"
        "ready: {log_line: \"Listening on [0-9]+\"}\nready_after: 100ms\n";
    Mainstay m(main_yaml(), {{"web", script}, {"quiet", script + "output: {console: false, file: false}\n"}});
    REQUIRE(m.wait_for("web: running"));
    CHECK(m.wait_for("web | Listening on 8080"));
    CHECK(m.wait_for("web: ready"));
    CHECK(m.wait_for("quiet: ready"));
    // Not before the line (ready_after, 100 ms, does not apply): the time stamps of the two log
    // files, the service's line and mainstay's "ready", say which came first.
    const auto stamp = [](const std::filesystem::path& file, const std::string& text) {
        for (const auto& l : read_lines(file)) {
            if (contains(l, text)) return l.substr(0, 24);
        }
        return std::string("?");
    };
    const std::string line_at = stamp(m.dir() / "logs/web.log", "Listening on 8080");
    const std::string ready_at = stamp(m.dir() / "logs/mainstay.log", "web: ready");
    INFO(line_at << " " << ready_at);
    REQUIRE(line_at != "?");
    REQUIRE(ready_at != "?");
    CHECK(line_at <= ready_at);
    CHECK(stamp(m.dir() / "logs/web.log", "starting") < line_at);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}
