#include "runtime/spawner.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/posix/vfork_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/start_dir.hpp>
#include <boost/process/v2/stdio.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string_view>

#include "config/credentials.hpp"
#include "config/machine_checks.hpp"
#include "config/values.hpp"
#include "runtime/clone3_launcher.hpp"
#include "runtime/fd_limits.hpp"

extern char** environ;

namespace mainstay::runtime {
namespace {

namespace bp = boost::process::v2;

// mainstay's own environment, read once (it does not change while mainstay runs): its
// `KEY=VALUE` entries, and where each key ends.
struct BaseEnvironment {
    std::vector<std::string> entries;
    std::vector<std::size_t> key_length;
};

const BaseEnvironment& base_environment() {
    static const BaseEnvironment base = [] {
        BaseEnvironment b;
        for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
            std::string entry(*e);
            const auto eq = entry.find('=');
            if (eq == std::string::npos) continue;
            // What a service manager above mainstay told mainstay (sd_notify, socket activation)
            // is mainstay's alone: a service that saw it would notify that manager itself.
            const std::string_view key(entry.data(), eq);
            if (key == "NOTIFY_SOCKET" || key == "WATCHDOG_USEC" || key == "WATCHDOG_PID" || key == "LISTEN_FDS" ||
                key == "LISTEN_PID" || key == "LISTEN_FDNAMES") {
                continue;
            }
            b.key_length.push_back(eq);
            b.entries.push_back(std::move(entry));
        }
        return b;
    }();
    return base;
}

// Owns a NULL-terminated `KEY=VALUE` array for execve, built before the fork: mainstay's own
// environment (pointed to, not copied) with `extra` added or overriding (the last of a key
// wins). A start costs the service's own variables, not a copy of the whole environment.
class EnvBlock {
public:
    explicit EnvBlock(const config::EnvVars& extra) {
        std::map<std::string_view, std::string_view> over;
        for (const auto& [k, v] : extra) over[k] = v;
        const BaseEnvironment& base = base_environment();
        strings_.reserve(over.size());
        for (const auto& [k, v] : over) strings_.push_back(std::string(k) + "=" + std::string(v));
        pointers_.reserve(base.entries.size() + strings_.size() + 1);
        std::optional<std::string> path;
        for (std::size_t i = 0; i < base.entries.size(); ++i) {
            const std::string_view key(base.entries[i].data(), base.key_length[i]);
            if (key == "PATH") path = base.entries[i].substr(base.key_length[i] + 1);
            if (over.count(key) == 0) pointers_.push_back(base.entries[i].c_str());
        }
        for (const auto& s : strings_) pointers_.push_back(s.c_str());
        pointers_.push_back(nullptr);
        // Only PATH is looked up (the executable): the child's, as it will be.
        if (auto it = over.find("PATH"); it != over.end()) path = std::string(it->second);
        if (path) lookup_.set("PATH", *path);
    }
    const char* const* envp() const { return pointers_.data(); }
    const config::Environment& lookup() const { return lookup_; }

private:
    std::vector<std::string> strings_;
    std::vector<const char*> pointers_;
    config::Environment lookup_;
};

// The ids the child takes; -1 for "leave as they are".
struct ChildIds {
    uid_t uid;
    gid_t gid;
    std::vector<gid_t> groups;
};

// From the ids resolved with the configuration. A name that did not resolve then (a user a
// package created since) is looked up again here, in the parent: getpwnam and friends are not
// async-signal-safe.
std::optional<ChildIds> child_ids(const SpawnRequest& r, std::string& error) {
    if (!r.user && !r.group) return ChildIds{static_cast<uid_t>(-1), static_cast<gid_t>(-1), {}};
    std::optional<config::Credentials> resolved = r.credentials;
    if (!resolved) {
        config::CredentialsLookup lookup = config::resolve_credentials(r.user, r.group);
        if (!lookup.credentials) {
            error = lookup.reason();
            return std::nullopt;
        }
        resolved = std::move(lookup.credentials);
    }
    if (::geteuid() != 0) {
        error = "user/group need mainstay to run as root";
        return std::nullopt;
    }
    return ChildIds{resolved->uid.value_or(::getuid()), resolved->gid, resolved->groups};
}

// The Boost.Process v2 initializer that prepares the child. Everything in on_exec_setup runs
// in the vfork child, in mainstay's memory, before exec: raw system calls only (glibc's
// set*id broadcast to all threads through shared state), no allocation, no logging.
struct ChildSetup {
    const char* const* envp;
    const ChildIds* credentials;
    const ChildLimits* limits;
    int cgroup_procs_fd;
    int ready_write{-1};  // `ready: {fd: N}`: this end of the pipe becomes the child's N
    int ready_target{-1};

    template <class Launcher>
    bp::error_code on_setup(Launcher& launcher, const bp::filesystem::path&, const char* const*&) {
        launcher.env = envp;
        if (ready_target != -1) launcher.fd_whitelist.push_back(ready_target);
        return {};
    }

    template <class Launcher>
    bp::error_code on_exec_setup(Launcher&, const bp::filesystem::path&, const char* const*&) {
        // Dispositions first, then the mask (all signals are blocked across the vfork): no
        // handler of mainstay's may ever run in the child.
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; ++s) sigaction(s, &dfl, nullptr);  // fails harmlessly for KILL/STOP
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        if (::setsid() == -1) return {errno, bp::system_category()};
        // Into its cgroup before it can fork: then nothing it starts escapes it. "0" = the writer.
        if (cgroup_procs_fd != -1 && ::syscall(SYS_write, cgroup_procs_fd, "0", 1) != 1) {
            return {errno, bp::system_category()};
        }
        if (credentials->uid != static_cast<uid_t>(-1) || credentials->gid != static_cast<gid_t>(-1)) {
            if (::syscall(SYS_setgroups, credentials->groups.size(), credentials->groups.data()) == -1 ||
                ::syscall(SYS_setresgid, credentials->gid, credentials->gid, credentials->gid) == -1 ||
                ::syscall(SYS_setresuid, credentials->uid, credentials->uid, credentials->uid) == -1) {
                return {errno, bp::system_category()};
            }
        }
        // After the credentials: changing them clears the parent-death signal.
        ::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        // The open-files limit mainstay was started with, not the one it raised for itself.
        if (limits->restore_nofile) ::syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &limits->nofile, nullptr);
        // Boost 1.81's own fd closing skips descriptors below its error pipe: mark them all.
        mark_cloexec_from(3, limits->fd_ceiling, true);
        // After the stdio (its initializer ran first) and the marking: N stays open across exec.
        if (ready_target != -1) {
            if (ready_write == ready_target) {
                if (::syscall(SYS_fcntl, ready_target, F_SETFD, 0) == -1) return {errno, bp::system_category()};
            } else if (::syscall(SYS_dup3, ready_write, ready_target, 0) == -1) {
                return {errno, bp::system_category()};
            }
        }
        return {};
    }

    // Boost 1.81 detects this hook with a five-argument signature but calls it with four: the
    // first overload makes it visible, the second is what runs. A failed exec must leave with
    // _exit: exit() would run the parent's atexit handlers (and flush its buffers) in the child.
    template <class Launcher>
    void on_exec_error(Launcher&, const bp::error_code&, const bp::filesystem::path&, const char* const*&,
                       const bp::error_code&) {}
    template <class Launcher>
    void on_exec_error(Launcher&, const bp::filesystem::path&, const char* const*&, const bp::error_code&) {
        ::_exit(127);
    }
};

struct Pipe {
    int read{-1};
    int write{-1};
    ~Pipe() {
        if (read != -1) ::close(read);
        if (write != -1) ::close(write);
    }
    bool open() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) == -1) return false;
        read = fds[0];
        write = fds[1];
        return true;
    }
};

using config::lowercase_first;

// Descriptors a start needs beyond its output pipe: the launch context's epoll, eventfd and
// timerfd, and the child's pidfd.
constexpr std::size_t kLaunchDescriptors = 4;

// Whether a start's kLaunchDescriptors can be opened now: duplicates `near` that many times,
// then closes them all. On false, errno says why (EMFILE, ENFILE).
bool launch_descriptors_available(int near) {
    std::array<int, kLaunchDescriptors> fds{};
    std::size_t got = 0;
    for (; got < fds.size(); ++got) {
        fds[got] = ::fcntl(near, F_DUPFD_CLOEXEC, 0);
        if (fds[got] == -1) break;
    }
    const int saved = errno;
    for (std::size_t i = 0; i < got; ++i) ::close(fds[i]);
    errno = saved;
    return got == fds.size();
}

// The vfork launcher learns of a failed exec through the memory the child shares with the
// parent until it execs. ThreadSanitizer turns vfork into fork, and then a failed exec would
// look like a start whose process exits with 127: the TSan build uses Boost's fork launcher,
// which reports the exec's error through a pipe.
#if defined(__SANITIZE_THREAD__)
using Launcher = bp::posix::default_launcher;
#else
using Launcher = bp::posix::vfork_launcher;
#endif

// The context the clone3 starts hand to Boost.Process: one for all, made on the first, never
// run (a generic lambda's static would be one per launcher type, the vfork one's unused).
boost::asio::io_context& shared_launch_context() {
    static boost::asio::io_context context(1);
    return context;
}

// Whether clone3 with CLONE_INTO_CGROUP works here; false for good after it said it cannot,
// or from the start with MAINSTAY_NO_CLONE3=1 (to compare the two ways, bench/compare).
bool clone3_usable = [] {
    const char* off = std::getenv("MAINSTAY_NO_CLONE3");
    return off == nullptr || *off == '\0' || std::string_view(off) == "0";
}();

}  // namespace

SpawnOutcome spawn(const SpawnRequest& request) {
    SpawnOutcome outcome;
    if (request.argv.empty()) {
        outcome.error = "empty command";
        return outcome;
    }
    EnvBlock env(request.env);
    config::Argv args;
    std::optional<config::Path> executable;
    if (request.shell) {
        executable = config::Path("/bin/sh");
        args = {"-c", request.argv.front()};
    } else {
        executable = config::find_executable(request.argv.front(), env.lookup());
        args.assign(request.argv.begin() + 1, request.argv.end());
    }
    if (!executable) {
        outcome.error = "executable not found: " + request.argv.front();
        return outcome;
    }
    if (request.working_dir && ::access(request.working_dir->c_str(), X_OK) != 0) {
        outcome.error = "working directory not usable: " + request.working_dir->string() + ": " + std::strerror(errno);
        return outcome;
    }
    auto credentials = child_ids(request, outcome.error);
    if (!credentials) return outcome;

    // One pipe for stdout and stderr: their lines stay in the order the service wrote them,
    // and a service costs one descriptor and one reader, not two.
    // Output that goes nowhere is not read at all: /dev/null, no pipe.
    Pipe out;
    if (request.discard_output ? (out.read = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 : !out.open()) {
        outcome.error = "cannot create a pipe: " + config::errno_text(errno);
        return outcome;
    }
    // The top of the limit is mainstay's own (fd_limits.hpp): the endpoints keep answering.
    if (in_descriptor_reserve(std::max(out.read, out.write) + static_cast<int>(kLaunchDescriptors))) {
        outcome.error = "cannot start " + executable->string() + ": too many open files (the last " +
                        std::to_string(descriptor_reserve() / 2) + " of the limit of " +
                        std::to_string(child_limits().fd_ceiling) +
                        " are kept for the control socket, HTTP and probes)";
        return outcome;
    }
    // Short of descriptors, the start fails here, before the vfork: Boost would otherwise throw
    // after it, with a child already running that must then be killed.
    if (!launch_descriptors_available(out.read)) {
        outcome.error = "cannot start " + executable->string() + ": " + config::errno_text(errno);
        return outcome;
    }
    Pipe ready;
    if (request.ready_fd != -1 && !ready.open()) {
        outcome.error = "cannot create a pipe for its ready fd: " + config::errno_text(errno);
        return outcome;
    }
    bp::error_code ec;
    bp::process_stdio stdio = request.discard_output ? bp::process_stdio{nullptr, nullptr, nullptr}
                                                     : bp::process_stdio{nullptr, out.write, out.write};
    auto start_dir = bp::process_start_dir(request.working_dir ? request.working_dir->string() : std::string());
    // vfork, not fork: the child borrows mainstay's memory until it execs instead of copying
    // its page tables, which is most of the cost of a restart. The launcher calls notify_fork
    // on the context it is given, in the child too (shared memory, with vfork): so it gets a
    // context of its own with nothing registered, made for this one start.
    // Signals stay blocked across the vfork so no handler of ours runs in the child; the
    // child clears its mask in ChildSetup before exec.
    sigset_t all, previous;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    // `shared`: the launcher leaves the context alone in the child (clone3_launcher), so one
    // context, never run, serves every start; the vfork launcher gets one made for this start.
    auto launch = [&](auto& launcher, int cgroup_procs_fd, bool shared) {
        ChildSetup setup{env.envp(), &*credentials, &child_limits(), cgroup_procs_fd, ready.write, request.ready_fd};
        try {
            std::optional<boost::asio::io_context> own_context;
            if (!shared) own_context.emplace(1);
            boost::asio::io_context& launch_context = shared ? shared_launch_context() : *own_context;
            // Declared after its context: a handle (even the empty one a failed exec returns)
            // must be destroyed before the context whose descriptor service it refers to.
            std::optional<bp::process> proc;
            // The executor overload: in 1.81 the io_context& one with an error_code forwards to
            // the throwing overload, and a failed exec would throw through the event loop.
            auto executor = launch_context.get_executor();
            proc.emplace(request.working_dir
                             ? launcher(executor, ec, executable->string(), args, stdio, setup, start_dir)
                             : launcher(executor, ec, executable->string(), args, stdio, setup));
            if (!ec) {
                const int pid = proc->id();
                proc->detach();  // the reaper owns the wait from here on
                proc.reset();
                if (request.discard_output) {
                    outcome.spawned = Spawned{pid, -1};
                } else {
                    outcome.spawned = Spawned{pid, out.read};
                    out.read = -1;
                }
                outcome.spawned->ready_read = std::exchange(ready.read, -1);
            }
        } catch (const std::exception& e) {
            // Boost can throw after the vfork (its context or the process handle needs a
            // descriptor and there is none left: "Too many open files"). The child may exist: it
            // is ours, not yet reaped, so killing it is safe; the reaper collects it as an
            // unknown child.
            if (launcher.pid > 0) ::kill(launcher.pid, SIGKILL);
            ec.clear();
            const auto* system = dynamic_cast<const boost::system::system_error*>(&e);
            outcome.error = "cannot start " + executable->string() + ": " +
                            lowercase_first(system != nullptr ? system->code().message() : std::string(e.what()));
        }
    };
    if (request.cgroup_fd != -1 && clone3_usable && !request.cgroup_move) {
        // Born in its cgroup (clone3 CLONE_INTO_CGROUP): no move of a running process, which
        // waits for the kernel's RCU grace period (milliseconds for a lone restart).
        clone3_launcher launcher;
        launcher.cgroup_fd = request.cgroup_fd;
        launch(launcher, -1, true);
        if (outcome.spawned) outcome.spawned->born_in_cgroup = true;
        if (launcher.clone3_error != 0) {
            // Not there (kernel before 5.3 or 5.7, a seccomp filter): the other way from now on.
            const int e = launcher.clone3_error;
            if (e == ENOSYS || e == E2BIG || e == EINVAL || e == EPERM) clone3_usable = false;
            ec.clear();
            outcome.error.clear();
        }
    }
    if (!outcome.spawned && outcome.error.empty() && !ec) {
        // Into its cgroup before it can fork, by the child itself: nothing it starts escapes it.
        const int procs =
            request.cgroup_fd == -1 ? -1 : ::openat(request.cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (request.cgroup_fd != -1 && procs == -1) {
            outcome.error =
                "cannot start " + executable->string() + ": cannot open its cgroup.procs: " + config::errno_text(errno);
        } else {
            Launcher launcher;
            launch(launcher, procs, false);
        }
        if (procs != -1) ::close(procs);
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (ec) outcome.error = "cannot start " + executable->string() + ": " + lowercase_first(ec.message());
    return outcome;
}

}  // namespace mainstay::runtime
