// Clients that try to starve the running instance (issue "never die, part two"): slow HTTP
// connections must not keep a liveness check from its answer, and `--follow` clients must not
// take the control-socket slots that `status` needs. Real mainstay, real sockets.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "support/free_port.hpp"
#include "support/http_get.hpp"
#include "support/signal_guard.hpp"
#include "support/unix_client.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

std::string main_with_http(int port) {
    return "services_dir: services.d\n"
           "log: {file: logs/mainstay.log, level: debug}\n"
           "status: {socket: run/control.sock, file: run/status.json, http: \"127.0.0.1:" +
           std::to_string(port) +
           "\"}\n"
           "shutdown: {timeout: 20s}\n";
}

// A connection that sends the start of a request and then one byte now and then, never the
// end of its headers (a "slowloris" client); -1 when the connect failed.
int slow_connection(int port) {
    const int fd = connect_loopback(port);
    if (fd < 0) return -1;
    const std::string start = "GET /status HTTP/1.1\r\nHost: x\r\n";
    (void)!::write(fd, start.data(), start.size());
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

// Slow connections, each trickling a header byte every 200 ms; one the server answered or
// closed is opened again at once. (The attack was found as user nobody; for a TCP server the
// peer's user makes no difference, so they come from the test's own user here.)
class SlowClients {
public:
    SlowClients(int port, int count) {
        worker_ = std::thread([this, port, count] {
            std::vector<int> fds;
            while (!stop_) {
                while (static_cast<int>(fds.size()) < count) {
                    const int fd = slow_connection(port);
                    if (fd < 0) break;
                    fds.push_back(fd);
                }
                opened_ = static_cast<int>(fds.size());
                for (auto it = fds.begin(); it != fds.end();) {
                    char c = 'X';
                    char sink[256];
                    const ssize_t got = ::read(*it, sink, sizeof sink);  // a 503, or the end
                    if (got >= 0 || ::send(*it, &c, 1, MSG_NOSIGNAL) != 1) {
                        ::close(*it);
                        it = fds.erase(it);
                    } else {
                        ++it;
                    }
                }
                std::this_thread::sleep_for(200ms);
            }
            for (int fd : fds) ::close(fd);
        });
    }
    ~SlowClients() {
        stop_ = true;
        worker_.join();
    }
    int opened() const { return opened_; }

private:
    std::atomic<bool> stop_{false};
    std::atomic<int> opened_{0};
    std::thread worker_;
};

}  // namespace

TEST_CASE("/healthz answers 200 under 40 slow connections") {
    const int port = free_port();
    Mainstay m(main_with_http(port), {{"web", ts("") + "ready_after: 100ms\n"}});
    REQUIRE(m.wait_for("status over HTTP on 127.0.0.1:" + std::to_string(port)));
    REQUIRE(m.wait_for("mode: full"));
    SlowClients slow(port, 40);
    REQUIRE(eventually([&] { return slow.opened() >= 32; }));
    int ok = 0;
    std::string last;
    for (int i = 0; i < 20; ++i) {
        last = get(port, "/healthz");
        if (last.rfind("HTTP/1.1 200", 0) == 0) ++ok;
        std::this_thread::sleep_for(100ms);  // a liveness check's rhythm, not a wait for an event
    }
    INFO("last answer: ", last);
    CHECK(ok >= 18);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

namespace {

// A control-socket connection that asked for `events --follow` (and keeps it); -1 when the
// connect failed.
int follower(const std::filesystem::path& socket) {
    const int fd = connect_unix(socket);
    if (fd < 0) return -1;
    const std::string request = "{\"cmd\":\"events\",\"follow\":true}\n";
    (void)send_all(fd, request);
    return fd;
}

}  // namespace

TEST_CASE("70 events --follow clients leave room for mainstay status") {
    Mainstay m(main_yaml(), {{"web", ts("") + "ready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    std::vector<int> fds;
    for (int i = 0; i < 70; ++i) {
        if (const int fd = follower(m.dir() / "run" / "control.sock"); fd >= 0) fds.push_back(fd);
    }
    // Each one was answered (its first events, or why not) before status asks.
    REQUIRE(fds.size() == 70);
    for (int fd : fds) {
        pollfd p{fd, POLLIN, 0};
        REQUIRE(::poll(&p, 1, 30000) == 1);
    }
    const CliResult status = cli(m, {"status"});
    INFO(status.err);
    CHECK(status.code == 0);
    CHECK(contains(status.out, "web"));
    for (int fd : fds) ::close(fd);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("with every control slot held, status says too many connections (exit 1), never not running") {
    Mainstay m(main_yaml(), {{"web", ts("") + "ready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    // 64 clients that connect and say nothing (each may hold its slot for the idle minute).
    std::vector<int> fds;
    for (int i = 0; i < 64; ++i) {
        const int fd = connect_unix(m.dir() / "run" / "control.sock");
        REQUIRE(fd >= 0);
        fds.push_back(fd);
    }
    for (int i = 0; i < 5; ++i) {
        const CliResult status = cli(m, {"status"});
        INFO(status.err);
        CHECK(status.code == 1);
        CHECK(contains(status.err, "too many connections (64)"));
        CHECK_FALSE(contains(status.err, "not running"));
    }
    for (int fd : fds) ::close(fd);
    CHECK(cli(m, {"status"}).code == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE(
    "1000 services under an open-files limit of 1024 keep status and /healthz answering and restart a killed one") {
    const int port = free_port();
    std::vector<std::pair<std::string, std::string>> services;
    for (int i = 0; i < 1000; ++i) {
        services.emplace_back("s" + std::to_string(i), ts("--print-lines 1 --line-length 20 --stay") +
                                                           "ready_after: 100ms\noutput: {console: false}\n"
                                                           "restart: {backoff: {initial: 100ms, max: 1s}}\n");
    }
    Mainstay m(main_with_http(port), services, {}, {}, true, {}, std::make_pair(1024ul, 1024ul));
    CHECK(m.wait_for("open files: the limit of 1024 cannot cover 1000 services", 60s));
    REQUIRE(m.wait_for("status over HTTP on 127.0.0.1:" + std::to_string(port), 60s));
    // Every service printed its line (so each has written its log file) and the start is over.
    REQUIRE(m.wait_for("mode: ", 120s));
    REQUIRE(eventually([&] { return service_of(m, "s0")["state"] == "ready"; }, 60s));
    const int old_pid = service_of(m, "s0")["pid"].get<int>();
    REQUIRE(old_pid > 1);
    REQUIRE(signal_process(old_pid, SIGKILL));
    REQUIRE(eventually(
        [&] {
            const auto s = service_of(m, "s0");
            return s["state"] == "ready" && s["pid"].is_number() && s["pid"].get<int>() != old_pid;
        },
        60s));
    const CliResult status = cli(m, {"status", "s0"});
    CHECK(status.code != 3);
    CHECK(contains(status.out, "s0"));
    CHECK(get(port, "/healthz").rfind("HTTP/1.1 200", 0) == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit(120s) == 0);
}
