#include "serve/sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace mainstay::serve {

Notifier::Notifier(std::function<void(const std::string&)> report) : report_(std::move(report)) {
    if (const char* path = std::getenv("NOTIFY_SOCKET"); path != nullptr) path_ = path;
    const char* usec = std::getenv("WATCHDOG_USEC");
    const char* pid = std::getenv("WATCHDOG_PID");
    if (usec != nullptr && *usec != '\0' && (pid == nullptr || *pid == '\0' || std::atoll(pid) == ::getpid())) {
        const long long us = std::atoll(usec);
        if (us > 0) watchdog_ = std::chrono::microseconds(us / 2);
    }
}

bool Notifier::send(std::string_view message) {
    if (path_.empty()) return false;
    auto fail = [&](const std::string& why) {
        if (!failing_ && report_)
            report_("sd_notify: cannot send " + std::string(message.substr(0, message.find('\n'))) + " to " + path_ +
                    ": " + why);
        failing_ = true;
        return false;
    };
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path) return fail("path too long");
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1) return fail(std::strerror(errno));
    const bool sent = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                               static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_.size())) != -1;
    const int error = errno;
    ::close(fd);
    if (!sent) return fail(std::strerror(error));
    if (failing_ && report_) report_("sd_notify: " + path_ + " reached again");
    failing_ = false;
    return true;
}

}  // namespace mainstay::serve
