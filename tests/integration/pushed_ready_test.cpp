// Readiness the service pushes (SPEC §3 `ready:`): sd_notify on a socket of its own, the s6
// newline on a descriptor; and `depends_on: {x: {restart: true}}`. Real test-service
// processes under a real mainstay, read back through the CLI as an operator would.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <thread>

#include "harness.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

// The NOTIFY_SOCKET line of a --env-dump file, once it is there.
std::string notify_socket_of(const std::filesystem::path& dump) {
    std::string address;
    eventually([&] {
        for (const auto& line : read_lines(dump)) {
            if (line.starts_with("NOTIFY_SOCKET=")) address = line.substr(14);
        }
        return !address.empty();
    });
    return address;
}

// One datagram from this process (not one of the service's) to `address`.
bool send_datagram(const std::string& address, const std::string& message) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (address.empty() || address.size() >= sizeof sun.sun_path) return false;
    std::memcpy(sun.sun_path, address.data(), address.size());
    if (sun.sun_path[0] == '@') sun.sun_path[0] = '\0';
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const bool sent =
        ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&sun),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size())) >= 0;
    ::close(fd);
    return sent;
}

std::string reason_of(Mainstay& m, const std::string& name) {
    return service_of(m, name).value("reason", std::string());
}

}  // namespace

TEST_CASE("ready: notify: ready only after READY=1, STATUS in the reason, a foreign datagram ignored") {
    const auto dump = std::filesystem::temp_directory_path() / ("mainstay-notify-env-" + std::to_string(::getpid()));
    std::filesystem::remove(dump);
    Mainstay m(main_yaml(), {{"dockerd", ts("--env-dump " + dump.string() + " --notify 'STATUS=loading images@0'" +
                                            " --notify READY=1@2500") +
                                             "ready: {notify: true}\nready_after: 100ms\n"}});
    REQUIRE(m.wait_for("dockerd: running"));
    const std::string address = notify_socket_of(dump);
    INFO(address);
    CHECK(address.starts_with("@mainstay/"));
    // Its STATUS= shows while it is not ready yet (ready_after does not apply).
    CHECK(eventually([&] { return contains(reason_of(m, "dockerd"), "status: loading images"); }));
    CHECK(state_of(m, "dockerd") == "running");
    CHECK(contains(reason_of(m, "dockerd"), "waiting for READY=1"));
    // Anyone can reach an abstract address; only the service's own processes count.
    REQUIRE(send_datagram(address, "READY=1"));
    CHECK(m.wait_for("dockerd: ignored a notify message from pid " + std::to_string(::getpid())));
    CHECK(state_of(m, "dockerd") == "running");
    // Its own READY=1 makes it ready.
    CHECK(m.wait_for("dockerd: ready"));
    CHECK(state_of(m, "dockerd") == "ready");
    auto why = cli(m, {"status"});
    CHECK(why.code == 0);
    std::filesystem::remove(dump);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("ready: notify with a watchdog: pings keep it, a missed ping restarts it") {
    Mainstay m(main_yaml(), {{"fed", ts("--notify READY=1@0 --notify-every WATCHDOG=1@200") +
                                         "ready: {notify: true, watchdog: 1s}\n"},
                             {"starved", ts("--notify READY=1@0") + "ready: {notify: true, watchdog: 1s}\n" +
                                             "restart: {backoff: {initial: 100ms}}\n"}});
    REQUIRE(m.wait_for("fed: ready"));
    REQUIRE(m.wait_for("starved: ready"));
    CHECK(m.wait_for("starved: stopping (watchdog: no WATCHDOG=1 within 1s; restarting)"));
    CHECK(eventually([&] { return service_of(m, "starved").value("restarts", 0) >= 1; }));
    // Three watchdog periods later the fed one still runs its first process.
    std::this_thread::sleep_for(3s);
    CHECK(service_of(m, "fed").value("restarts", -1) == 0);
    CHECK(state_of(m, "fed") == "ready");
    CHECK(m.count("fed: stopping") == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("ready: fd: ready at the newline on its descriptor and not before") {
    Mainstay m(main_yaml(), {{"s6", ts("--ready-fd 3@2000") + "ready: {fd: 3}\nready_after: 100ms\n"}});
    REQUIRE(m.wait_for("s6: running"));
    CHECK(contains(reason_of(m, "s6"), "waiting for a newline on its fd 3"));
    CHECK(state_of(m, "s6") == "running");
    CHECK(m.wait_for("s6: ready"));
    CHECK(m.count("test-service: ready fd") == 0);  // the descriptor was open in the service
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("depends_on restart: true: mainstay restart db restarts its dependent once") {
    Mainstay m(main_yaml(), {{"db", ts("") + "ready_after: 100ms\n"},
                             {"app", ts("") + "ready_after: 100ms\ndepends_on: {db: {restart: true}}\n"},
                             {"plain", ts("") + "ready_after: 100ms\ndepends_on: [db]\n"}});
    REQUIRE(m.wait_for("app: ready"));
    REQUIRE(m.wait_for("plain: ready"));
    auto restarted = cli(m, {"restart", "db", "--wait"});
    INFO(restarted.out << restarted.err);
    CHECK(restarted.code == 0);
    CHECK(m.wait_for("app: restarting: its dependency db restarted (restart: true)"));
    CHECK(eventually([&] { return state_of(m, "app") == "ready" && service_of(m, "app").value("restarts", 0) == 1; }));
    std::this_thread::sleep_for(1s);  // no second restart comes
    CHECK(service_of(m, "app").value("restarts", -1) == 1);
    CHECK(service_of(m, "plain").value("restarts", -1) == 0);
    CHECK(m.count("app: restarting: its dependency") == 1);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}
