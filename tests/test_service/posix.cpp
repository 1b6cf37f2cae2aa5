// test-service's small POSIX helpers: writing, files, signal dispositions, the start-up
// dumps and the grandchild.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "test_service/test_service.hpp"

extern "C" char** environ;

namespace test_service {

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "test-service: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(kExitInternal);
}

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= std::size_t(w);
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd pfd{fd, POLLOUT, 0};
            if (::poll(&pfd, 1, -1) < 0 && errno != EINTR) return false;
            continue;
        }
        return false;
    }
    return true;
}
bool write_all(int fd, std::string_view s) {
    return write_all(fd, s.data(), s.size());
}

void say(std::string_view line) {
    if (!write_all(STDOUT_FILENO, line)) fail("write to stdout");
}

void write_file_atomic(const std::string& path, std::string_view content) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("open " + tmp);
    if (!write_all(fd, content)) fail("write " + tmp);
    if (::close(fd) != 0) fail("close " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename " + tmp);
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

void set_disposition(int sig, void (*handler)(int)) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(sig, &sa, nullptr) != 0) fail("sigaction");
}

[[noreturn]] void die_by_signal(int sig) {
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // SEGV/ABRT must not litter core files
    if (sig != SIGKILL && sig != SIGSTOP) set_disposition(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::kill(::getpid(), sig);
    std::fprintf(stderr, "test-service: signal %d did not terminate the process\n", sig);
    std::exit(kExitInternal);
}

// ---- start-up dumps -----------------------------------------------------------

void dump_env(const std::string& path) {
    std::string out = "CWD=";
    std::vector<char> cwd(4096);
    if (!::getcwd(cwd.data(), cwd.size())) fail("getcwd");
    out += cwd.data();
    out += "\nFDS=";
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) fail("opendir /proc/self/fd");
    std::vector<int> fds;
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.') continue;
        const int fd = std::atoi(e->d_name);
        if (fd != ::dirfd(dir)) fds.push_back(fd);
    }
    ::closedir(dir);
    std::sort(fds.begin(), fds.end());
    for (std::size_t i = 0; i < fds.size(); ++i) out += (i ? "," : "") + std::to_string(fds[i]);
    out += '\n';
    for (char** e = environ; *e; ++e) {
        out += *e;
        out += '\n';
    }
    write_file_atomic(path, out);
}

void dump_sigmask(const std::string& path) {
    std::ifstream status("/proc/self/status");
    if (!status) fail("open /proc/self/status");
    std::string out, line;
    while (std::getline(status, line))
        if (line.starts_with("SigBlk:") || line.starts_with("SigIgn:")) out += line + '\n';
    out += "PGID=" + std::to_string(::getpgrp()) + " SID=" + std::to_string(::getsid(0)) +
           " PID=" + std::to_string(::getpid()) + '\n';
    write_file_atomic(path, out);
}

// ---- grandchild -----------------------------------------------------------------

void fork_grandchild(const Options& o) {
    int sync_pipe[2];  // the parent reads EOF once the grandchild has written its pid file
    if (::pipe2(sync_pipe, O_CLOEXEC) != 0) fail("pipe2");
    const pid_t pid = ::fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        ::close(sync_pipe[0]);
        if (o.grandchild_new_session && ::setsid() < 0) fail("setsid");
        set_disposition(SIGTERM, o.ignore_sigterm ? SIG_IGN : SIG_DFL);
        set_disposition(SIGINT, o.ignore_sigterm ? SIG_IGN : SIG_DFL);
        if (!o.grandchild_pid_file.empty()) write_file_atomic(o.grandchild_pid_file, std::to_string(::getpid()) + '\n');
        ::close(sync_pipe[1]);
        for (;;) ::pause();
    }
    ::close(sync_pipe[1]);
    char c;
    while (::read(sync_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::close(sync_pipe[0]);
    if (o.orphan_grandchild) std::exit(0);
}

}  // namespace test_service
