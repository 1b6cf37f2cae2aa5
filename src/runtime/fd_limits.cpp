#include "runtime/fd_limits.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mainstay::runtime {
namespace {

ChildLimits limits;

int ceiling_of(rlim_t soft) {
    constexpr rlim_t kMax = 1 << 30;
    return static_cast<int>(soft == RLIM_INFINITY || soft > kMax ? kMax : soft);
}

}  // namespace

std::string raise_nofile_limit() {
    rlimit now{};
    if (::getrlimit(RLIMIT_NOFILE, &now) != 0) return std::string("open files: getrlimit: ") + std::strerror(errno);
    limits.nofile = now;
    limits.fd_ceiling = ceiling_of(now.rlim_cur);
    if (now.rlim_cur >= now.rlim_max) return "open files: limit " + std::to_string(now.rlim_cur) + " (soft = hard)";
    rlimit raised{now.rlim_max, now.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
        return "open files: cannot raise the soft limit " + std::to_string(now.rlim_cur) + " to " +
               std::to_string(now.rlim_max) + ": " + std::strerror(errno);
    }
    limits.restore_nofile = true;
    limits.fd_ceiling = ceiling_of(raised.rlim_cur);
    return "open files: soft limit " + std::to_string(now.rlim_cur) + " -> " + std::to_string(raised.rlim_cur) +
           " (the hard limit); services get " + std::to_string(now.rlim_cur);
}

const ChildLimits& child_limits() { return limits; }

bool mark_cloexec_from(int first, int ceiling, bool use_close_range) {
    if (use_close_range && ::syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
        return true;
    }
    for (int fd = first; fd < ceiling; ++fd) {
        const int flags = ::fcntl(fd, F_GETFD);
        if (flags != -1 && (flags & FD_CLOEXEC) == 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
    return false;
}

}  // namespace mainstay::runtime
