// systemd's notification protocol for real: a datagram socket of the test's own stands for
// systemd's $NOTIFY_SOCKET (READY=1, STATUS=, STOPPING=1, WATCHDOG=1).
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include "harness.hpp"
#include "support/signal_guard.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

// A bound datagram socket in a temporary directory.
struct NotifySocket {
    std::filesystem::path work;
    std::string path;
    int fd{-1};
    NotifySocket() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-notify-XXXXXX").string();
        work = ::mkdtemp(tmpl.data());
        path = (work / "notify").string();
        fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~NotifySocket() {
        ::close(fd);
        std::error_code ec;
        std::filesystem::remove_all(work, ec);
    }
    // The next datagram, or "" after `deadline`.
    std::string next(std::chrono::milliseconds deadline = 30s) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(deadline.count())) != 1) return {};
        char buf[512] = {};
        const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
        return std::string(buf, static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    }
    // Datagrams until one starts with `prefix` (or the deadline): that one, or "".
    std::string until(const std::string& prefix, std::chrono::milliseconds deadline = 30s) {
        const auto end = Clock::now() + deadline;
        while (Clock::now() < end) {
            std::string d = next(std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()));
            if (d.rfind(prefix, 0) == 0) return d;
        }
        return {};
    }
};

}  // namespace

TEST_CASE("READY=1 when the startup phase ends, STATUS= on a change, STOPPING=1 at shutdown") {
    NotifySocket notify;
    ::setenv("NOTIFY_SOCKET", notify.path.c_str(), 1);
    Mainstay m(main_yaml(),
               {{"web", ts("--pid-file web.pid --env-dump web.env") + "ready_after: 100ms\nworking_dir: ..\n"},
                {"db", ts("") + "ready_after: 100ms\n"}});
    ::unsetenv("NOTIFY_SOCKET");
    CHECK(notify.next() == "READY=1\nSTATUS=full: 2/2 services ready\n");
    // What the manager above told mainstay is mainstay's: a service that saw it would notify
    // that manager itself.
    REQUIRE(eventually([&] { return !read_lines(m.dir() / "web.env").empty(); }));
    for (const auto& line : read_lines(m.dir() / "web.env")) CHECK_FALSE(line.starts_with("NOTIFY_SOCKET="));
    // ready_after is mainstay's clock: the service may write its pid file a little later.
    REQUIRE(eventually([&] { return read_lines(m.dir() / "web.pid").size() == 1; }));
    const auto pids = read_lines(m.dir() / "web.pid");
    signal_process(std::stoi(pids[0]), SIGKILL);
    CHECK(notify.until("STATUS=degraded") == "STATUS=degraded: 1/2 services ready\n");
    CHECK(notify.until("STATUS=full") == "STATUS=full: 2/2 services ready\n");  // restarted
    m.signal(SIGTERM);
    CHECK(notify.until("STOPPING=1") == "STOPPING=1\nSTATUS=stopping\n");
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("WATCHDOG=1 every half of WATCHDOG_USEC") {
    NotifySocket notify;
    ::setenv("NOTIFY_SOCKET", notify.path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "200000", 1);
    Mainstay m(main_yaml(), {{"web", ts("") + "ready_after: 100ms\n"}});
    ::unsetenv("NOTIFY_SOCKET");
    CHECK(m.wait_for("systemd watchdog: WATCHDOG=1 every 100 ms"));
    for (int i = 0; i < 5; ++i) CHECK(notify.until("WATCHDOG=1") == "WATCHDOG=1\n");
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("a WATCHDOG_PID of another process turns the watchdog off") {
    ::setenv("WATCHDOG_USEC", "200000", 1);
    ::setenv("WATCHDOG_PID", "1", 1);
    NotifySocket notify;
    ::setenv("NOTIFY_SOCKET", notify.path.c_str(), 1);
    Mainstay m(main_yaml(), {{"web", ts("") + "ready_after: 100ms\n"}});
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_PID");
    CHECK(notify.until("READY=1").rfind("READY=1", 0) == 0);
    CHECK(notify.until("WATCHDOG=1", 1s).empty());
    CHECK(m.count("systemd watchdog") == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("a NOTIFY_SOCKET nobody listens on is reported, and supervision goes on") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-notify-XXXXXX").string();
    std::filesystem::path work = ::mkdtemp(tmpl.data());
    const std::string path = (work / "nobody-here").string();
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    Mainstay m(main_yaml(), {{"web", ts("") + "ready_after: 100ms\n"}});
    ::unsetenv("NOTIFY_SOCKET");
    // Reported once, at the first message that could not go (READY=1, or a STATUS= before it).
    const auto said = m.wait_for("sd_notify: cannot send ");
    REQUIRE(said);
    CHECK(contains(*said, " to " + path + ": "));
    CHECK(m.wait_for("mode: full"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
}

TEST_CASE("a reload of a file with 80,000 keys keeps the watchdog pings and a crashing service's 1 s restarts") {
    NotifySocket notify;
    ::setenv("NOTIFY_SOCKET", notify.path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "1000000", 1);
    Mainstay m(main_yaml(), {{"crash", ts("--exit-after 100 --exit-code 1") +
                                           "restart: {backoff: {initial: 1s, max: 1s, jitter: none}, "
                                           "circuit_breaker: {failure_threshold: 1000}}\n"}});
    ::unsetenv("NOTIFY_SOCKET");
    REQUIRE(m.wait_for("systemd watchdog: WATCHDOG=1 every 500 ms"));
    REQUIRE(m.wait_for("crash: recovering (exited with code 1)"));
    {
        std::ofstream big(m.dir() / "services.d" / "big.yaml");
        big << "name: big\nenabled: false\ncommand: [/bin/true]\nenvironment:\n";
        for (int i = 0; i < 80000; ++i) big << "  KEY_" << i << ": value-" << i << "\n";
    }
    // From the SIGHUP until 3 s after the reload was applied: the pings and the crashes, timed.
    REQUIRE(m.signal(SIGHUP));
    auto last_ping = Clock::now();
    auto last_crash = Clock::now();
    std::size_t crashes = m.count("crash: recovering");
    std::chrono::milliseconds ping_gap{0}, crash_gap{0};
    std::optional<Clock::time_point> applied;
    const auto end = Clock::now() + 90s;
    while (Clock::now() < end && (!applied || Clock::now() < *applied + 3s)) {
        const std::string d = notify.next(50ms);
        const auto now = Clock::now();
        if (d == "WATCHDOG=1\n") {
            ping_gap = std::max(ping_gap, std::chrono::duration_cast<std::chrono::milliseconds>(now - last_ping));
            last_ping = now;
        }
        if (const std::size_t c = m.count("crash: recovering"); c != crashes) {
            crash_gap = std::max(crash_gap, std::chrono::duration_cast<std::chrono::milliseconds>(now - last_crash));
            crashes = c;
            last_crash = now;
        }
        if (!applied && m.count("reload: 1 added")) applied = now;
    }
    REQUIRE(applied);
    INFO("longest time between two watchdog pings: ", ping_gap.count(), " ms (every 500 ms expected)");
    INFO("longest time between two crashes: ", crash_gap.count(), " ms (every 1.1 s expected)");
    CHECK(ping_gap < 2s);
    CHECK(crash_gap < 3s);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}
