// mainstay run with real child processes (the test-service program) and real signals.
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

namespace {

// Start times (ns, monotonic) from a --start-file.
std::vector<long long> start_times(const std::filesystem::path& file) {
    std::vector<long long> out;
    for (const auto& line : read_lines(file)) out.push_back(std::stoll(line.substr(line.find(' ') + 1)));
    return out;
}

}  // namespace

TEST_CASE("a crashing service restarts with its backoff, and the exit code is reported") {
    Mainstay m(main_yaml(),
               {{"crash", ts("--exit-after 50 --exit-code 3 --start-file crash.starts") +
                              "working_dir: ..\n"
                              "ready_after: 10s\n"
                              "restart: {backoff: {initial: 200ms, max: 10s, multiplier: 2, jitter: none}}\n"}});
    auto starts_file = m.dir() / "crash.starts";
    REQUIRE(eventually([&] { return read_lines(starts_file).size() >= 4; }));
    auto t = start_times(starts_file);
    // Each gap is the 50 ms run plus the backoff: 200, 400, 800 ms. Never early; late by a
    // loaded machine's margin at most.
    const long long expected[] = {200, 400, 800};
    for (int i = 0; i < 3; ++i) {
        long long gap_ms = (t[i + 1] - t[i]) / 1'000'000 - 50;
        INFO("restart " << i + 1 << ": backoff observed " << gap_ms << " ms");
        CHECK(gap_ms >= expected[i] - 5);
        CHECK(gap_ms <= expected[i] + 1000);  // generous: 2 shared cores, maybe under sanitizers
    }
    CHECK(m.wait_for("crash: recovering (exited with code 3)"));
}

TEST_CASE("a permanent exit code ends failed, a signal death is told apart from an exit") {
    Mainstay m(main_yaml(), {{"perm", ts("--exit-after 20 --exit-code 78") + "restart: {permanent_exit_codes: [78]}\n"},
                             {"segv", ts("--exit-after 20 --die-signal SEGV") +
                                          "restart: {policy: on-failure, backoff: {initial: 5s}}\n"}});
    CHECK(m.wait_for("perm: failed (exited with code 78 (a permanent exit code))"));
    CHECK(m.wait_for("segv: recovering (killed by SIGSEGV)"));
}

TEST_CASE("the safety valve pauses a service that keeps failing") {
    Mainstay m(main_yaml(),
               {{"flaky", ts("--exit-after 10 --exit-code 1") + "restart: {backoff: {initial: 10ms, jitter: none}}\n"
                                                                "recovery: {max_attempts: 3}\n"}});
    CHECK(m.wait_for("flaky: paused (safety valve"));
    CHECK(eventually([&] { return m.count("flaky: running") == 4; }, 10s));  // the first run and three attempts
}

TEST_CASE("100 SIGKILLs in a row: restarted each time, no zombie, no fd leaked") {
    Mainstay m(main_yaml(),
               {{"victim",
                 ts("--pid-file victim.pid") +
                     "working_dir: ..\n"
                     "restart: {backoff: {initial: 0s, jitter: none}, circuit_breaker: {failure_threshold: 1000}}\n"}});
    auto pid_file = m.dir() / "victim.pid";
    REQUIRE(eventually([&] { return read_pid(pid_file) > 0; }));
    REQUIRE(m.wait_for("victim: running"));
    // The baseline once it holds still: right after a start the status writer may have its
    // temporary file open for a moment.
    std::size_t fds_before = open_fds(m.pid());
    REQUIRE(eventually([&] {
        std::this_thread::sleep_for(100ms);
        const std::size_t now = open_fds(m.pid());
        return std::exchange(fds_before, now) == now;
    }));
    int pid = read_pid(pid_file);
    for (int i = 0; i < 100; ++i) {
        signal_process(pid, SIGKILL);
        int previous = pid;
        REQUIRE(eventually([&] {
            pid = read_pid(pid_file);
            return pid > 0 && pid != previous && alive(pid);
        }));
    }
    CHECK(eventually([&] { return m.count("victim: recovering (killed by SIGKILL)") == 100; }, 10s));
    CHECK(eventually([&] { return zombie_children(m.pid()).empty(); }, 5s));
    CHECK(eventually([&] { return open_fds(m.pid()) == fds_before; }, 5s));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("shutdown: SIGTERM ignored and a lingering grandchild are all gone, dependents first, exit 0") {
    Mainstay m(main_yaml(),
               {{"base", ts("--ignore-sigterm --pid-file base.pid") + "working_dir: ..\nready_after: 100ms\n"
                                                                      "stop: {timeout: 500ms}\n"},
                {"app", ts("--fork-grandchild --grandchild-pid-file app.grandchild --pid-file app.pid") +
                            "working_dir: ..\nready_after: 100ms\ndepends_on: [base]\n"}});
    REQUIRE(m.wait_for("app: ready"));
    REQUIRE(eventually([&] { return read_pid(m.dir() / "app.grandchild") > 0; }));
    REQUIRE(eventually([&] { return read_pid(m.dir() / "base.pid") > 1 && read_pid(m.dir() / "app.pid") > 1; }));
    int base = read_pid(m.dir() / "base.pid");
    int app = read_pid(m.dir() / "app.pid");
    int grandchild = read_pid(m.dir() / "app.grandchild");
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    CHECK_FALSE(alive(base));
    CHECK_FALSE(alive(app));
    CHECK_FALSE(alive(grandchild));
    auto lines = m.lines();
    auto at = [&](const std::string& text) {
        return std::find_if(lines.begin(), lines.end(),
                            [&](const std::string& l) { return l.find(text) != std::string::npos; });
    };
    REQUIRE(at("app: stopping") != lines.end());
    REQUIRE(at("base: stopping") != lines.end());
    CHECK(at("app: stopping") < at("base: stopping"));
    CHECK(at("app: stopped") < at("base: stopping"));
    CHECK(at("base: stopped") != lines.end());
}

TEST_CASE("as PID 1 in a new PID namespace, orphaned grandchildren are reaped") {
    std::string why;
    if (!can_unshare_pid_namespace(why)) {
        MESSAGE("skipped: " << why);
        return;
    }
    Mainstay m(
        main_yaml(),
        {{"parent", ts("--fork-grandchild --grandchild-new-session --orphan-grandchild --grandchild-pid-file gc.pid") +
                        "working_dir: ..\nrestart: {policy: never}\n"}},
        {}, {"unshare", "--pid", "--fork", "--mount-proc"});
    REQUIRE(m.wait_for("(pid 1, PID 1)"));
    REQUIRE(eventually([&] { return read_pid(m.dir() / "gc.pid") > 0; }));
    CHECK(m.wait_for("parent: stopped (exited with code 0"));
    // The grandchild escaped its group (own session) and its parent is gone: it is PID 1's now.
    // Shutdown kills it, and PID 1 reaps it.
    m.signal(SIGTERM);
    CHECK(m.wait_for("reaped orphan"));
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("spawn: environment = inherited + env_file + environment, working_dir, setsid, fds, signal mask") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-env-XXXXXX").string();
    std::filesystem::path work = ::mkdtemp(tmpl.data());
    std::ofstream(work / "vars.env") << "FROM_FILE=file\nONLY_FILE=yes\n";
    Mainstay m(main_yaml(), {{"env", ts("--env-dump " + (work / "env.dump").string() + " --sigmask-dump " +
                                        (work / "mask.dump").string() + " --pid-file " + (work / "env.pid").string()) +
                                         "working_dir: " + work.string() +
                                         "\n"
                                         "env_file: " +
                                         (work / "vars.env").string() +
                                         "\n"
                                         "environment: {GREETING: hello, FROM_FILE: overridden}\n"}});
    // The pid file comes last (test-service writes the dumps first).
    REQUIRE(eventually([&] {
        return read_lines(work / "mask.dump").size() >= 3 && read_lines(work / "env.dump").size() > 2 &&
               read_pid(work / "env.pid") > 0;
    }));
    auto env = read_lines(work / "env.dump");
    CHECK(env[0] == "CWD=" + work.string());
    CHECK(env[1] == "FDS=0,1,2");
    auto has = [&](const std::string& kv) { return std::find(env.begin(), env.end(), kv) != env.end(); };
    CHECK(has("GREETING=hello"));
    CHECK(has("FROM_FILE=overridden"));  // environment wins over env_file
    CHECK(has("ONLY_FILE=yes"));
    CHECK(std::any_of(env.begin(), env.end(),
                      [](const std::string& l) { return l.rfind("PATH=", 0) == 0; }));  // inherited
    auto mask = read_lines(work / "mask.dump");
    CHECK(mask[0] == "SigBlk:\t0000000000000000");
    // Signals 1-31 at their defaults (mainstay itself ignores SIGPIPE); 32 and up are libc's own.
    REQUIRE(mask[1].rfind("SigIgn:\t", 0) == 0);
    CHECK((std::stoull(mask[1].substr(8), nullptr, 16) & 0x7fffffffULL) == 0);
    int pid = read_pid(work / "env.pid");
    CHECK(mask[2] == "PGID=" + std::to_string(pid) + " SID=" + std::to_string(pid) + " PID=" + std::to_string(pid));
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
}

TEST_CASE("a second mainstay on the same configuration exits 3") {
    Mainstay m(main_yaml(), {{"web", ts("")}});
    REQUIRE(m.wait_for("web: running"));
    std::string cmd =
        std::string(MAINSTAY_BINARY) + " run -c " + (m.dir() / "mainstay.yaml").string() + " >/dev/null 2>&1";
    int status = std::system(cmd.c_str());
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 3);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("a stdout nobody reads does not stall supervision") {
    Mainstay m(main_yaml(),
               {{"chatty", ts("--lines-per-second 20000")},
                {"crash", ts("--exit-after 20 --exit-code 1 --start-file crash.starts") +
                              "working_dir: ..\nrestart: {backoff: {initial: 10ms, max: 10ms, jitter: none}, "
                              "circuit_breaker: {failure_threshold: 100000}}\n"}},
               {}, {}, /*read_output=*/false);
    auto starts = m.dir() / "crash.starts";
    // 20000 lines/s fill the 64 KiB pipe in well under a second; restarts must go on long after.
    REQUIRE(eventually([&] { return read_lines(starts).size() >= 50; }));
    auto chatty_log = m.dir() / "logs/chatty.log";
    auto size_then = std::filesystem::file_size(chatty_log);
    CHECK(eventually([&] { return std::filesystem::file_size(chatty_log) > size_then + 100000; }));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("stop.command stops the service instead of the stop signal") {
    Mainstay m(main_yaml(), {{"db", ts("--ignore-sigterm --pid-file db.pid") +
                                        "working_dir: ..\n"
                                        "stop: {timeout: 20s, command: [sh, -c, 'kill -KILL $(cat db.pid)']}\n"}});
    REQUIRE(m.wait_for("db: running"));
    REQUIRE(eventually([&] { return read_pid(m.dir() / "db.pid") > 0; }));
    auto begin = Clock::now();
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    CHECK(Clock::now() - begin < 15s);  // well before stop.timeout: the command did it
    CHECK(m.wait_for("db: stopping (stop command pid"));
    CHECK(m.wait_for("db: stopped (killed by SIGKILL)"));
}

TEST_CASE("user: the service runs as that user") {
    if (::geteuid() != 0) {
        MESSAGE("skipped: user: needs root");
        return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-user-XXXXXX").string();
    std::filesystem::path work = ::mkdtemp(tmpl.data());
    std::filesystem::permissions(work, std::filesystem::perms::all);
    // A copy of test-service where nobody can reach it: the build tree may sit under a
    // directory only root can enter (a clone in /root, mode 0700).
    const auto binary = work / "test-service";
    std::filesystem::copy_file(TEST_SERVICE_PATH, binary);
    std::filesystem::permissions(binary, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                             std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                             std::filesystem::perms::others_exec);
    std::string why;
    if (!user_can_execute("nobody", binary.string(), why)) {
        MESSAGE("skipped: " << why);
        std::error_code ec;
        std::filesystem::remove_all(work, ec);
        return;
    }
    Mainstay m(main_yaml(), {{"low", "command: " + binary.string() + " --pid-file " + (work / "low.pid").string() +
                                         "\nuser: nobody\n"}});
    REQUIRE(eventually([&] { return read_pid(work / "low.pid") > 0; }));
    std::ifstream status("/proc/" + std::to_string(read_pid(work / "low.pid")) + "/status");
    std::string line;
    while (std::getline(status, line) && line.rfind("Uid:", 0) != 0) {
    }
    CHECK(line.find("65534") != std::string::npos);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
}

TEST_CASE("an unknown user: the service is recovering with that reason, and the others run") {
    Mainstay m(main_yaml(), {{"stranger", ts("") + "user: no-such-user-mainstay\n"
                                                   "restart: {backoff: {initial: 50ms, jitter: none}}\n"},
                             {"fine", ts("")}});
    CHECK(m.wait_for("stranger: recovering (unknown user: no-such-user-mainstay)"));
    CHECK(m.wait_for("fine: ready"));
    CHECK(alive(m.pid()));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("log.format json: one JSON object per line, for mainstay's messages and service lines") {
    Mainstay m(
        "services_dir: services.d\nlog: {file: logs/mainstay.log, format: json}\nstatus: {socket: run/control.sock}\n",
        {{"web", ts("--print-lines 1 --line-length 20 --stay")}});
    auto own = m.wait_for("\"message\":\"web: running (pid ");
    REQUIRE(own);
    CHECK(own->rfind("{\"time\":\"", 0) == 0);
    CHECK(own->find("\",\"level\":\"info\",\"message\":\"web: running (pid ") != std::string::npos);
    CHECK(own->back() == '}');
    auto line = m.wait_for("\"service\":\"web\",\"line\":\"line 0 ");
    REQUIRE(line);
    CHECK(line->rfind("{\"time\":\"", 0) == 0);
    CHECK(line->substr(line->size() - 2) == "\"}");
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    auto file = read_lines(m.dir() / "logs/mainstay.log");
    REQUIRE_FALSE(file.empty());
    CHECK(file.front().rfind("{\"time\":\"", 0) == 0);
}

TEST_CASE("mainstay survives its stdout reader going away") {
    Mainstay m(main_yaml(),
               {{"chatty", ts("--lines-per-second 5000")},
                {"crash", ts("--exit-after 20 --exit-code 1 --start-file crash.starts") +
                              "working_dir: ..\nrestart: {backoff: {initial: 10ms, max: 10ms, jitter: none}, "
                              "circuit_breaker: {failure_threshold: 100000}}\n"}},
               {}, {}, /*read_output=*/false);
    REQUIRE(eventually([&] {
        return std::filesystem::exists(m.dir() / "logs/chatty.log") &&
               std::filesystem::file_size(m.dir() / "logs/chatty.log") > 0;
    }));
    m.close_output();  // the console reader is gone: writes to stdout now fail with EPIPE
    auto starts = m.dir() / "crash.starts";
    auto before = read_lines(starts).size();
    CHECK(eventually([&] { return read_lines(starts).size() >= before + 20; }));
    CHECK(alive(m.pid()));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("an exec that fails (missing interpreter) is a reason to retry, not the end of mainstay") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-exec-XXXXXX").string();
    std::filesystem::path work = ::mkdtemp(tmpl.data());
    std::ofstream(work / "broken.sh") << "#!/nonexistent/interpreter\necho never\n";
    std::filesystem::permissions(work / "broken.sh", std::filesystem::perms::owner_all);
    Mainstay m(main_yaml(),
               {{"broken",
                 "command: [" + (work / "broken.sh").string() +
                     "]\n"
                     "restart: {backoff: {initial: 50ms, jitter: none}, circuit_breaker: {failure_threshold: 1000}}\n"},
                {"fine", ts("")}});
    CHECK(m.wait_for("broken: recovering (cannot start " + (work / "broken.sh").string() +
                     ": no such file or directory)"));
    CHECK(m.wait_for("fine: ready"));
    CHECK(alive(m.pid()));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
}

TEST_CASE(
    "SIGUSR1 is passed on to the services that list it in forward_signals and no other, a second SIGTERM kills at "
    "once") {
    Mainstay m(main_yaml(), {{"stubborn", ts("--ignore-sigterm --pid-file s.pid") +
                                              "working_dir: ..\n"
                                              "stop: {timeout: 1h}\nforward_signals: [SIGUSR1]\n"},
                             {"bystander", ts("") + "ready_after: 50ms\n"}});
    REQUIRE(m.wait_for("stubborn: ready"));
    REQUIRE(m.wait_for("bystander: ready"));
    REQUIRE(eventually([&] { return read_pid(m.dir() / "s.pid") > 0; }));
    const int first = read_pid(m.dir() / "s.pid");
    m.signal(SIGUSR1);  // test-service does not handle SIGUSR1: it dies of it
    CHECK(m.wait_for("stubborn: recovering (killed by SIGUSR1)"));
    CHECK(m.wait_for("received SIGUSR1: passed on to 1 service (forward_signals)"));
    CHECK(m.count("bystander: recovering") == 0);  // it did not ask for SIGUSR1: it was not sent
    REQUIRE(m.wait_for("stubborn: running", 10s));
    // The new process writes its pid once it ignores SIGTERM (the old file holds the old pid).
    REQUIRE(eventually([&] {
        const int now = read_pid(m.dir() / "s.pid");
        return m.count("stubborn: running") == 2 && now > 0 && now != first;
    }));
    m.signal(SIGTERM);
    REQUIRE(m.wait_for("stubborn: stopping"));
    m.signal(SIGTERM);  // stop.timeout is an hour: only the second signal ends it now
    CHECK(m.wait_for("second stop signal"));
    CHECK(m.wait_exit(10s) == 0);
}

TEST_CASE("probes for real: readiness over HTTP marks unhealthy without a restart, a failed exec liveness restarts") {
    const int port = free_port();
    Mainstay m(main_yaml(),
               {{"web", ts("--listen " + std::to_string(port) + " --http --healthy-file healthy") +
                            "working_dir: ..\n"
                            "probes:\n"
                            "  readiness: {http: {url: \"http://127.0.0.1:" +
                            std::to_string(port) +
                            "/health\"},"
                            " interval: 100ms, failure_threshold: 1}\n"
                            "  liveness: {exec: [test, -f, alive], interval: 100ms, failure_threshold: 2}\n"
                            "restart: {backoff: {initial: 10ms, jitter: none}}\n"}});
    std::ofstream(m.dir() / "alive") << "";
    CHECK(m.wait_for("web: running"));
    std::ofstream(m.dir() / "healthy") << "";
    REQUIRE(m.wait_for("web: ready"));
    std::filesystem::remove(m.dir() / "healthy");
    CHECK(m.wait_for("web: unhealthy (readiness probe http://127.0.0.1:" + std::to_string(port) +
                     "/health failed: HTTP 503 (expected 200-399))"));
    std::ofstream(m.dir() / "healthy") << "";
    CHECK(eventually([&] { return m.count("web: ready") == 2; }));
    CHECK(m.count("web: running") == 1);  // never restarted for readiness
    std::filesystem::remove(m.dir() / "alive");
    CHECK(m.wait_for("web: stopping (liveness probe exec test failed: exited with code 1; restarting)"));
    std::ofstream(m.dir() / "alive") << "";
    CHECK(eventually([&] { return m.count("web: running") == 2; }));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}
