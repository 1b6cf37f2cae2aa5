#include "cli/control_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "config/values.hpp"

namespace mainstay::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left until `deadline` for poll(), rounded up so a wait never ends early.
int poll_timeout(Clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return 0;
    return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

// Waits for `events` on `fd` until `deadline`: 1 ready, 0 timed out, -1 error (errno set).
int wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int result = ::poll(&p, 1, poll_timeout(deadline));
        if (result < 0 && errno == EINTR) continue;
        return result;
    }
}

}  // namespace

std::optional<ControlClient> ControlClient::connect(const std::filesystem::path& path, std::string& error,
                                                    ConnectFailure* failure, std::chrono::milliseconds timeout) {
    auto fail = [&](ConnectFailure why, std::string message) {
        if (failure != nullptr) *failure = why;
        error = std::move(message);
        return std::nullopt;
    };
    const std::string where = path.string();
    sockaddr_un address{};
    if (where.empty() || where.size() >= sizeof address.sun_path) {
        return fail(ConnectFailure::other, "control socket path empty or too long: " + where);
    }
    address.sun_family = AF_UNIX;
    where.copy(address.sun_path, sizeof address.sun_path - 1);

    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(ConnectFailure::other, "socket: " + config::errno_text(errno));
    ControlClient client(fd);
    // A unix connect() waits only while the server's backlog is full, and then for at most the
    // send timeout (it then fails with EAGAIN).
    const auto ms = timeout.count() > 0 ? timeout.count() : 1;
    timeval limit{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    int result;
    do {
        result = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    } while (result != 0 && errno == EINTR);
    if (result != 0) {
        const int e = errno;
        if (e == ENOENT || e == ECONNREFUSED) {
            return fail(ConnectFailure::no_instance,
                        "no instance is running (" + where + ": " + config::errno_text(e) + ")");
        }
        if (e == EACCES || e == EPERM) return fail(ConnectFailure::permission_denied, "permission denied: " + where);
        if (e == EAGAIN) {
            return fail(ConnectFailure::other, "the instance did not accept the connection within " +
                                                   std::to_string(timeout.count()) + " ms (" + where + ")");
        }
        return fail(ConnectFailure::other, "cannot connect to " + where + ": " + config::errno_text(e));
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return client;
}

ControlClient::ControlClient(ControlClient&& other) noexcept
    : fd_(other.fd_), input_(std::move(other.input_)), error_(std::move(other.error_)) {
    other.fd_ = -1;
}

ControlClient& ControlClient::operator=(ControlClient&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = other.fd_;
        other.fd_ = -1;
        input_ = std::move(other.input_);
        error_ = std::move(other.error_);
    }
    return *this;
}

ControlClient::~ControlClient() {
    close();
}

void ControlClient::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool ControlClient::send(const nlohmann::json& request, std::chrono::milliseconds timeout) {
    if (fd_ < 0) {
        error_ = "not connected";
        return false;
    }
    std::string line = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    const auto deadline = Clock::now() + timeout;
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::send(fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const int ready = wait_for(fd_, POLLOUT, deadline);
            if (ready > 0) continue;
            error_ = ready == 0
                         ? "the instance did not take the request within " + std::to_string(timeout.count()) + " ms"
                         : "poll: " + config::errno_text(errno);
            return false;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            // The instance may have refused us before we sent (too many connections, permission
            // denied) and closed: its line is waiting to be read, and it is the real answer.
            if (take_waiting_input()) return true;
            error_ = "the instance closed the connection without an answer";
            return false;
        }
        error_ = "send: " + config::errno_text(errno);
        return false;
    }
    return true;
}

bool ControlClient::take_waiting_input() {
    std::array<char, 4096> chunk{};
    for (;;) {
        const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), MSG_DONTWAIT);
        if (n > 0) {
            input_.append(chunk.data(), static_cast<std::size_t>(n));
            if (input_.size() > kMaxLine) break;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    return input_.find('\n') != std::string::npos;
}

std::optional<nlohmann::json> ControlClient::receive(std::chrono::milliseconds timeout, std::string& error) {
    if (fd_ < 0) {
        error = "not connected";
        return std::nullopt;
    }
    const auto deadline = Clock::now() + timeout;
    std::array<char, 64 * 1024> chunk{};
    for (;;) {
        if (const auto newline = input_.find('\n'); newline != std::string::npos) {
            const std::string line = input_.substr(0, newline);
            input_.erase(0, newline + 1);
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            try {
                return nlohmann::json::parse(line);
            } catch (const nlohmann::json::exception& e) {
                error = std::string("the instance sent a line that is not JSON: ") + e.what();
                return std::nullopt;
            }
        }
        if (input_.size() > kMaxLine) {
            error = "the instance sent a line longer than " + std::to_string(kMaxLine) + " bytes";
            return std::nullopt;
        }
        const int ready = wait_for(fd_, POLLIN, deadline);
        if (ready == 0) {
            error = "no answer within " + std::to_string(timeout.count()) + " ms";
            return std::nullopt;
        }
        if (ready < 0) {
            error = "poll: " + config::errno_text(errno);
            return std::nullopt;
        }
        const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
        if (n > 0) {
            input_.append(chunk.data(), static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n == 0 || errno == ECONNRESET) {
            error = "the instance closed the connection";
            return std::nullopt;
        }
        error = "recv: " + config::errno_text(errno);
        return std::nullopt;
    }
}

}  // namespace mainstay::cli
