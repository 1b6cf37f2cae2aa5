// What the control socket tests share: a server on a temporary socket, raw clients, asking
// while the loop serves.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/control_client.hpp"
#include "integration/serve_support.hpp"
#include "serve/control_server.hpp"
#include "support/unix_client.hpp"

namespace control_support {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using mainstay::cli::ConnectFailure;
using mainstay::cli::ControlClient;
using mainstay::serve::ControlLimits;
using mainstay::serve::ControlServer;
using mainstay::serve::ControlSession;
using nlohmann::json;
using namespace mainstay::testing;

inline void echo(const json& request, std::shared_ptr<ControlSession> session) {
    session->send({{"ok", true}, {"echo", request}});
}

// Connects, sends each request and collects one answer per request (or the error, as a string).
inline std::vector<json> ask(const fs::path& socket, std::vector<json> requests) {
    std::vector<json> answers;
    std::string error;
    auto client = ControlClient::connect(socket, error);
    if (!client) return {json(error)};
    for (const auto& r : requests) {
        if (!client->send(r)) return {json(client->error())};
        auto answer = client->receive(10s, error);
        answers.push_back(answer ? *answer : json(error));
    }
    return answers;
}

// The answers to `requests`, asked from another thread while the server's loop runs here.
inline std::vector<json> ask_while_serving(asio::io_context& io, const fs::path& socket, std::vector<json> requests) {
    auto answers = in_background([=] { return ask(socket, requests); });
    REQUIRE(pump(io, [&] { return ready(answers); }));
    return answers.get();
}

// What the client reads until the server closes the connection: the lines, then the reason.
inline std::vector<json> read_to_end(ControlClient& client) {
    std::vector<json> lines;
    std::string error;
    while (auto line = client.receive(10s, error)) lines.push_back(*line);
    lines.push_back(json(error));
    return lines;
}

// A client that writes raw bytes (what ControlClient never would) and reads raw lines.
class RawClient {
public:
    explicit RawClient(const fs::path& path) : fd_(mainstay::testing::connect_unix(path)), connected_(fd_ >= 0) {}
    ~RawClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return connected_; }

    bool write(const std::string& bytes) { return mainstay::testing::send_all(fd_, bytes); }

    // The next line, or "<closed>" at the end of the stream, or "<timeout>".
    std::string line(std::chrono::milliseconds limit = 10s) {
        const auto deadline = Clock::now() + limit;
        for (;;) {
            if (auto newline = input_.find('\n'); newline != std::string::npos) {
                std::string got = input_.substr(0, newline);
                input_.erase(0, newline + 1);
                return got;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            pollfd p{fd_, POLLIN, 0};
            if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return "<timeout>";
            char chunk[4096];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) return "<closed>";
            input_.append(chunk, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_;
    bool connected_{false};
    std::string input_;
};

// A unix socket bound at `path` and closed without removing its file: what a killed server
// leaves behind.
inline void leave_stale_socket(const fs::path& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.string().copy(address.sun_path, sizeof address.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    ::close(fd);
    REQUIRE(fs::is_socket(path));
}

constexpr int kCannotSwitch = 100;

// Forks a child that becomes uid/gid 65534 and runs `body`, whose result is the exit code;
// waits for it (the parent's loop keeps running). The exit status (kCannotSwitch when the
// child could not take that uid, as in a user namespace that does not map it), or -1.
inline int as_nobody(asio::io_context& io, const std::function<int()>& body) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(kCannotSwitch);
        ::_exit(body());
    }
    int status = 0;
    bool reaped = false;
    pump(io, [&] { return reaped = ::waitpid(pid, &status, WNOHANG) == pid; });
    REQUIRE(reaped);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace control_support
