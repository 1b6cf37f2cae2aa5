// The descriptor marking a child does before exec, on both paths: close_range (5.11+) and the
// fcntl walk of older kernels, forced here.
#include "runtime/fd_limits.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// In a child: opens a few descriptors without close-on-exec, marks from 3 up, and exits 0 only
// when every one of them is marked.
int marked_in_child(bool use_close_range) {
    const pid_t pid = ::fork();
    if (pid == -1) return -1;
    if (pid == 0) {
        int fds[6];
        for (int i = 0; i < 3; ++i) {
            if (::pipe(fds + 2 * i) != 0) ::_exit(3);
        }
        const int high = ::fcntl(fds[0], F_DUPFD, 200);  // far above the others
        mainstay::runtime::mark_cloexec_from(3, 1024, use_close_range);
        for (int fd : fds) {
            if ((::fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0) ::_exit(1);
        }
        if (high == -1 || (::fcntl(high, F_GETFD) & FD_CLOEXEC) == 0) ::_exit(2);
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("every descriptor from 3 up is marked close-on-exec, with close_range or by the fcntl walk") {
    CHECK(marked_in_child(true) == 0);
    CHECK(marked_in_child(false) == 0);
}
