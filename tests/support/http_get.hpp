// One HTTP/1.1 exchange with mainstay's status endpoint on 127.0.0.1, for the integration tests:
// plain sockets, bounded by a 10 s poll per read, the whole answer (Connection: close).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace mainstay::testing {

// A TCP connection to 127.0.0.1:port, or -1.
inline int connect_loopback(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// One HTTP exchange with 127.0.0.1:port: what was sent, the whole answer (Connection: close).
inline std::string http(int port, const std::string& request) {
    const int fd = connect_loopback(port);
    if (fd < 0) return {};
    (void)!::write(fd, request.data(), request.size());
    std::string answer;
    char buf[65536];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 10000) != 1) break;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return answer;
}

inline std::string get(int port, const std::string& path) {
    return http(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

}  // namespace mainstay::testing
