// Probes for what a test needs of the machine (a privilege, a name that resolves, a user that
// can run a file). A test calls one first and, when it answers no, skips with the reason:
// chroots, minimal containers and unprivileged runners lack some of these, and a test must not
// fail (or worse, misbehave) there for a reason that is not mainstay's.
#pragma once

#include <fcntl.h>
#include <netdb.h>
#include <pwd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace mainstay::testing {

// Runs argv (argv[0] searched in PATH) with stdout/stderr to /dev/null; its exit code, or -1.
inline int run_quietly(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == -1) return -1;
    if (pid == 0) {
        int null = ::open("/dev/null", O_WRONLY);
        if (null != -1) {
            ::dup2(null, 1);
            ::dup2(null, 2);
        }
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Root, and `unshare --pid --fork --mount-proc` works here (a chroot whose / is not a mount
// point, or an unprivileged container, refuses --mount-proc).
inline bool can_unshare_pid_namespace(std::string& why) {
    if (::geteuid() != 0) {
        why = "a new PID namespace needs root";
        return false;
    }
    if (run_quietly({"unshare", "--pid", "--fork", "--mount-proc", "true"}) != 0) {
        why = "`unshare --pid --fork --mount-proc` is refused on this machine";
        return false;
    }
    return true;
}

// `host` resolves through the system resolver (a minimal root may have no /etc/hosts entry).
inline bool resolves(const char* host, std::string& why) {
    addrinfo* found = nullptr;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    const int rc = ::getaddrinfo(host, "80", &hints, &found);
    if (found != nullptr) ::freeaddrinfo(found);
    if (rc != 0) why = std::string(host) + " does not resolve here: " + ::gai_strerror(rc);
    return rc == 0;
}

// As `user` (we are root), `file` could be executed: every directory on the way searchable and
// the file executable. Checked in a child that takes the user's ids.
inline bool user_can_execute(const char* user, const std::string& file, std::string& why) {
    if (::geteuid() != 0) {
        why = "running as another user needs root";
        return false;
    }
    const passwd* pw = ::getpwnam(user);
    if (pw == nullptr) {
        why = std::string("no user ") + user + " on this machine";
        return false;
    }
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    const pid_t pid = ::fork();
    if (pid == -1) {
        why = std::string("fork: ") + std::strerror(errno);
        return false;
    }
    if (pid == 0) {
        if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, gid, gid, gid) != 0 ||
            ::syscall(SYS_setresuid, uid, uid, uid) != 0) {
            ::_exit(2);
        }
        ::_exit(::access(file.c_str(), X_OK) == 0 ? 0 : 1);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        why = std::string(user) + " cannot execute " + file + " here";
        return false;
    }
    return true;
}

}  // namespace mainstay::testing
