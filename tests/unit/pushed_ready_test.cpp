#include "runtime/pushed_ready.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstring>

using mainstay::runtime::NotifySocket;
using mainstay::runtime::parse_notice;
using mainstay::runtime::ReadyPipe;

namespace {

// Runs what is ready now, without waiting: what was written before is seen (no sleeps).
void settle(boost::asio::io_context& io) {
    for (int i = 0; i < 4; ++i) {
        io.restart();
        io.poll();
    }
}

}  // namespace

TEST_CASE("parse_notice reads the sd_notify assignments it knows and skips the others") {
    auto n = parse_notice("READY=1\nSTATUS=serving 3 models\nMAINPID=42\nWATCHDOG=1");
    CHECK(n.ready);
    CHECK(n.watchdog);
    CHECK_FALSE(n.stopping);
    CHECK_FALSE(n.watchdog_trigger);
    CHECK(n.status == std::optional<std::string>("serving 3 models"));
    auto s = parse_notice("STOPPING=1\nWATCHDOG=trigger\n");
    CHECK(s.stopping);
    CHECK(s.watchdog_trigger);
    CHECK_FALSE(s.ready);
    CHECK_FALSE(s.status);
    CHECK_FALSE(parse_notice("READY=0").ready);
    CHECK_FALSE(parse_notice("").ready);
}

TEST_CASE("a notify socket hands on each datagram with the pid the kernel vouches for") {
    boost::asio::io_context io;
    std::string error;
    int sender = 0;
    std::string got;
    auto socket = NotifySocket::open(
        io, "web",
        [&](int pid, std::string_view datagram) {
            sender = pid;
            got = std::string(datagram);
        },
        error);
    REQUIRE_MESSAGE(socket, error);
    CHECK(socket->address().starts_with("@mainstay/" + std::to_string(::getpid()) + "/web/"));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, socket->address().data(), socket->address().size());
    sun.sun_path[0] = '\0';
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    const std::string message = "READY=1\nSTATUS=up";
    REQUIRE(::sendto(fd, message.data(), message.size(), 0, reinterpret_cast<const sockaddr*>(&sun),
                     static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket->address().size())) ==
            static_cast<ssize_t>(message.size()));
    ::close(fd);
    settle(io);
    CHECK(sender == ::getpid());
    CHECK(got == message);
}

TEST_CASE("a ready pipe says ready once, at the first newline, and never for bytes without one") {
    boost::asio::io_context io;
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    int told = 0;
    ReadyPipe pipe(io, fds[0], [&] { ++told; });
    REQUIRE(::write(fds[1], "abc", 3) == 3);
    settle(io);
    CHECK(told == 0);
    REQUIRE(::write(fds[1], "\n\n", 2) == 2);
    settle(io);
    CHECK(told == 1);
    ::close(fds[1]);

    int again[2];
    REQUIRE(::pipe2(again, O_CLOEXEC) == 0);
    int never = 0;
    ReadyPipe closed(io, again[0], [&] { ++never; });
    REQUIRE(::write(again[1], "x", 1) == 1);
    ::close(again[1]);
    settle(io);
    CHECK(never == 0);
}
