#include "runtime/fd_limits.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
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

const ChildLimits& child_limits() {
    return limits;
}

int descriptor_reserve() {
    return std::min(128, limits.fd_ceiling / 4);
}

// Half the reserve is the log files and whatever else mainstay holds below the services'
// descriptors; the top half must stay free for connections and probes.
bool in_descriptor_reserve(int fd) {
    return fd >= limits.fd_ceiling - descriptor_reserve() / 2;
}

namespace {
// stdin, stdout, stderr, the lock, the loop's own descriptors, mainstay's log file.
constexpr int kBaseDescriptors = 16;
}  // namespace

std::size_t service_descriptor_slots() {
    return static_cast<std::size_t>(std::max(1, limits.fd_ceiling - descriptor_reserve() - kBaseDescriptors));
}

std::string descriptor_shortfall(std::size_t services) {
    const auto ceiling = static_cast<std::size_t>(limits.fd_ceiling);
    const std::size_t needed = services + static_cast<std::size_t>(descriptor_reserve() + kBaseDescriptors);
    if (needed <= ceiling) return {};
    return "open files: the limit of " + std::to_string(ceiling) + " cannot cover " + std::to_string(services) +
           " services (one descriptor each for its output while it runs, " + std::to_string(descriptor_reserve()) +
           " kept for the control socket, HTTP, probes and log files): the first " +
           std::to_string(service_descriptor_slots()) +
           " to start keep their place through restarts, the others start when one stops; "
           "raise LimitNOFILE or `ulimit -n` to at least " +
           std::to_string(needed);
}

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
