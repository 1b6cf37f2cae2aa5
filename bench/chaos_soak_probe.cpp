// The chaos soak's helpers (chaos_soak.hpp): its clock and output, what /proc says of a process,
// a free loopback port, an HTTP GET and mainstay's /status, a percentile.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "chaos_soak.hpp"

namespace mainstay::bench::soak {

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

void say(const char* fmt, ...) {
    static const auto t0 = Clock::now();
    std::printf("[%6.1f s] ", since(t0));
    va_list args;
    va_start(args, fmt);
    std::vprintf(fmt, args);
    va_end(args);
    std::printf("\n");
    std::fflush(stdout);
}

std::vector<int> children_of(int parent, bool zombies_only) {
    std::vector<int> out;
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const int pid = std::atoi(it->path().filename().c_str());
        if (pid <= 0) continue;
        const Stat s = stat_of(pid);
        if (s.ppid == parent && s.state != 0 && (!zombies_only || s.state == 'Z')) out.push_back(pid);
    }
    return out;
}

int pick_port(std::mt19937& random, std::vector<int>& taken) {
    for (int tries = 0; tries < 10000; ++tries) {
        const int port = 20000 + static_cast<int>(random() % 12000);
        if (std::find(taken.begin(), taken.end(), port) != taken.end()) continue;
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(port));
        const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (ok) {
            taken.push_back(port);
            return port;
        }
    }
    return -1;
}

std::optional<std::string> http_get(int port, const std::string& path, milliseconds limit, int* status) {
    const auto end = Clock::now() + limit;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return std::nullopt;
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) return std::nullopt;
    auto wait = [&](short events) {
        const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        return ::poll(&p, 1, static_cast<int>(left)) == 1;
    };
    if (!wait(POLLOUT)) return std::nullopt;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return std::nullopt;
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
        return std::nullopt;
    std::string response;
    char buf[16384];
    for (;;) {
        if (!wait(POLLIN)) return std::nullopt;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) break;
        response.append(buf, static_cast<size_t>(n));
    }
    const auto head_end = response.find("\r\n\r\n");
    if (response.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos) return std::nullopt;
    if (status) *status = std::atoi(response.c_str() + response.find(' ') + 1);
    std::string head = response.substr(0, head_end);
    std::string body = response.substr(head_end + 4);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    if (head.find("transfer-encoding: chunked") != std::string::npos) {
        std::string plain;
        for (size_t at = 0;;) {
            const auto eol = body.find("\r\n", at);
            if (eol == std::string::npos) break;
            const size_t size = std::stoul(body.substr(at, eol - at), nullptr, 16);
            if (size == 0) break;
            plain += body.substr(eol + 2, size);
            at = eol + 2 + size + 2;
        }
        body = plain;
    }
    return body;
}

std::optional<nlohmann::json> status_of(int port) {
    int code = 0;
    auto body = http_get(port, "/status", milliseconds(3000), &code);
    if (!body || code != 200) return std::nullopt;
    auto doc = nlohmann::json::parse(*body, nullptr, false);
    if (doc.is_discarded() || !doc.contains("services")) return std::nullopt;
    return doc;
}

std::vector<std::string> fd_targets(int pid) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code e2;
        std::string target = fs::read_symlink(it->path(), e2).string();
        if (const auto colon = target.find(":["); colon != std::string::npos) target.erase(colon);
        out.push_back(target);
    }
    std::sort(out.begin(), out.end());
    return out;
}

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace mainstay::bench::soak
