#include "runtime/pushed_ready.hpp"

#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "config/values.hpp"
#include "runtime/log_capture.hpp"

namespace mainstay::runtime {

supervisor::Notice parse_notice(std::string_view datagram) {
    supervisor::Notice n;
    for_each_line(datagram, [&](std::string_view line) {
        if (line == "READY=1")
            n.ready = true;
        else if (line == "STOPPING=1")
            n.stopping = true;
        else if (line == "WATCHDOG=1")
            n.watchdog = true;
        else if (line == "WATCHDOG=trigger")
            n.watchdog_trigger = true;
        else if (line.starts_with("STATUS="))
            n.status = std::string(line.substr(7));
    });
    return n;
}

struct NotifySocket::State {
    explicit State(boost::asio::io_context& io) : socket(io) {}
    boost::asio::posix::stream_descriptor socket;
    Handler handler;
};

namespace {

// Reads what has come (without blocking), hands on each datagram with its sender, waits again.
void read_datagrams(const std::shared_ptr<NotifySocket::State>& state) {
    state->socket.async_wait(
        boost::asio::posix::descriptor_base::wait_read, [state](const boost::system::error_code& ec) {
            if (ec || !state->socket.is_open()) return;
            // A datagram is at most a few lines; a longer one is cut (MSG_TRUNC) and still parsed.
            std::array<char, 4096> buffer{};
            alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(ucred))> control{};
            for (int i = 0; i < 64; ++i) {
                iovec io{buffer.data(), buffer.size()};
                msghdr msg{};
                msg.msg_iov = &io;
                msg.msg_iovlen = 1;
                msg.msg_control = control.data();
                msg.msg_controllen = control.size();
                const ssize_t got = ::recvmsg(state->socket.native_handle(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (got < 0) break;
                int sender = 0;
                for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
                    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                        ucred cred{};
                        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
                        sender = cred.pid;
                    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        // Descriptors are not part of what we accept: closed at once.
                        const std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (std::size_t k = 0; k < n; ++k) {
                            int fd = -1;
                            std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
                            if (fd >= 0) ::close(fd);
                        }
                    }
                }
                if (sender > 0 && state->handler) {
                    state->handler(
                        sender, std::string_view(buffer.data(),
                                                 std::min<std::size_t>(static_cast<std::size_t>(got), buffer.size())));
                }
                if (!state->socket.is_open()) return;  // the handler ended it
            }
            read_datagrams(state);
        });
}

std::string random_hex() {
    std::array<unsigned char, 8> bytes{};
    if (::getrandom(bytes.data(), bytes.size(), GRND_NONBLOCK) != static_cast<ssize_t>(bytes.size())) {
        // No entropy yet (very early boot): the address is then only unpredictable by its time.
        const auto t = std::chrono::steady_clock::now().time_since_epoch().count();
        std::memcpy(bytes.data(), &t, std::min(sizeof t, bytes.size()));
    }
    std::string out;
    char two[3];
    for (unsigned char b : bytes) {
        std::snprintf(two, sizeof two, "%02x", b);
        out += two;
    }
    return out;
}

}  // namespace

NotifySocket::NotifySocket(std::shared_ptr<State> state, std::string address)
    : state_(std::move(state)), address_(std::move(address)) {}

NotifySocket::~NotifySocket() {
    state_->handler = nullptr;
    boost::system::error_code ignored;
    state_->socket.close(ignored);
}

std::unique_ptr<NotifySocket> NotifySocket::open(boost::asio::io_context& io, const std::string& service,
                                                 Handler handler, std::string& error) {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1) {
        error = "cannot make its notify socket: " + config::errno_text(errno);
        return nullptr;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    // '@' + "mainstay/PID/NAME/RANDOM", within sun_path (NAME cut to fit: the random part decides).
    std::string address = "@mainstay/" + std::to_string(::getpid()) + "/" + service.substr(0, 48) + "/" + random_hex();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, address.data(), std::min(address.size(), sizeof addr.sun_path - 1));
    addr.sun_path[0] = '\0';
    const auto length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::min(address.size(), sizeof addr.sun_path - 1));
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), length) == -1) {
        error = "cannot bind its notify socket " + address + ": " + config::errno_text(errno);
        ::close(fd);
        return nullptr;
    }
    auto state = std::make_shared<State>(io);
    state->socket.assign(fd);
    state->handler = std::move(handler);
    read_datagrams(state);
    return std::unique_ptr<NotifySocket>(new NotifySocket(std::move(state), std::move(address)));
}

struct ReadyPipe::State {
    explicit State(boost::asio::io_context& io) : pipe(io) {}
    boost::asio::posix::stream_descriptor pipe;
    std::function<void()> ready;
};

namespace {

void read_ready(const std::shared_ptr<ReadyPipe::State>& state) {
    state->pipe.async_wait(boost::asio::posix::descriptor_base::wait_read,
                           [state](const boost::system::error_code& ec) {
                               if (ec || !state->pipe.is_open()) return;
                               std::array<char, 512> buffer{};
                               const ssize_t got = ::read(state->pipe.native_handle(), buffer.data(), buffer.size());
                               if (got < 0 && (errno == EAGAIN || errno == EINTR)) return read_ready(state);
                               if (got <= 0) {  // closed without a newline: never ready this way
                                   boost::system::error_code ignored;
                                   state->pipe.close(ignored);
                                   return;
                               }
                               if (std::memchr(buffer.data(), '\n', static_cast<std::size_t>(got)) != nullptr) {
                                   boost::system::error_code ignored;
                                   state->pipe.close(ignored);
                                   if (auto ready = std::exchange(state->ready, nullptr)) ready();
                                   return;
                               }
                               read_ready(state);
                           });
}

}  // namespace

ReadyPipe::ReadyPipe(boost::asio::io_context& io, int fd, std::function<void()> ready)
    : state_(std::make_shared<State>(io)) {
    state_->pipe.assign(fd);
    state_->pipe.non_blocking(true);
    state_->ready = std::move(ready);
    read_ready(state_);
}

ReadyPipe::~ReadyPipe() {
    state_->ready = nullptr;
    boost::system::error_code ignored;
    state_->pipe.close(ignored);
}

}  // namespace mainstay::runtime
