// A Boost.Process v2 launcher that starts the child *in* its cgroup: clone3(2) with
// CLONE_INTO_CGROUP (Linux 5.7+, as systemd does), with vfork's manners (CLONE_VM |
// CLONE_VFORK: the child borrows mainstay's memory until it execs, and the parent learns of a
// failed exec).
//
// Why: moving a running process into a cgroup (a write to cgroup.procs before exec) waits for
// an RCU grace period in the kernel: 6-15 ms for a lone restart. A process born in its cgroup
// pays nothing. Where clone3 or CLONE_INTO_CGROUP is missing (an older kernel, a seccomp
// filter, another architecture, a sanitizer build) `clone3_error` says so and the caller uses
// the vfork launcher and cgroup.procs instead.
//
// The child runs the initializers' on_exec_setup and execve on a stack of its own (CLONE_VM
// needs one), through a small assembly entry (clone3_launcher.cpp): what runs there must be
// async-signal-safe, as in any vfork child.
#pragma once

#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <tuple>

namespace mainstay::runtime {

// struct clone_args of linux/sched.h (CLONE_ARGS_SIZE_VER2), spelt out so that no kernel
// header meets glibc's.
struct Clone3Args {
    std::uint64_t flags;
    std::uint64_t pidfd;
    std::uint64_t child_tid;
    std::uint64_t parent_tid;
    std::uint64_t exit_signal;
    std::uint64_t stack;
    std::uint64_t stack_size;
    std::uint64_t tls;
    std::uint64_t set_tid;
    std::uint64_t set_tid_size;
    std::uint64_t cgroup;
};

// clone3 with `args`; in the child, `fn(arg)` on args->stack, then _exit with what it returns.
// The child's pid, or -errno (-ENOSYS where this build has no entry for the architecture).
long clone3_run(Clone3Args& args, int (*fn)(void*), void* arg);

// The stack the child runs on until it execs: one, reused (the loop has one thread, and the
// parent waits for the child to exec or exit). nullptr when it could not be mapped.
void* clone3_stack(std::size_t& size);

inline constexpr std::uint64_t kCloneVm = 0x00000100;
inline constexpr std::uint64_t kCloneVfork = 0x00004000;
inline constexpr std::uint64_t kCloneIntoCgroup = 0x200000000ULL;

struct clone3_launcher : boost::process::v2::posix::default_launcher {
    int cgroup_fd{-1};    // the cgroup directory the child is born in (O_RDONLY | O_DIRECTORY)
    int clone3_error{0};  // set when clone3 itself failed (then nothing was started)

    template <typename Executor, typename Args, typename... Inits>
    auto operator()(Executor exec, boost::process::v2::error_code& ec,
                    const boost::process::v2::filesystem::path& executable, Args&& args, Inits&&... inits)
        -> boost::process::v2::basic_process<Executor> {
        namespace bp = boost::process::v2;
        namespace asio = boost::asio;
        using Process = bp::basic_process<Executor>;
        auto argv = this->build_argv_(executable, std::forward<Args>(args));
        ec = bp::posix::detail::on_setup(*this, executable, argv, inits...);
        if (ec) {
            bp::posix::detail::on_error(*this, executable, argv, ec, inits...);
            return Process(exec);
        }
        std::size_t stack_size = 0;
        void* stack = clone3_stack(stack_size);
        if (stack == nullptr) {
            clone3_error = ENOMEM;
            ec.assign(ENOMEM, bp::system_category());
            return Process(exec);
        }
        auto& ctx = asio::query(exec, asio::execution::context);
        struct Child {
            clone3_launcher* self;
            const bp::filesystem::path* executable;
            const char* const* argv;
            std::tuple<Inits&...> inits;
            bp::error_code ec;
        };
        Child child{this, &executable, argv, std::tie(inits...), {}};
        // The child: what vfork_launcher does after its vfork, but for notify_fork(fork_child):
        // the child never uses the context (it execs or leaves), and in memory it shares with
        // the parent the context's re-made descriptors would overwrite the parent's numbers
        // (six system calls on every start's critical path, for nothing). Its error is left in
        // `ec`, in the parent's memory (CLONE_VM); the initializers' on_exec_error leave with
        // _exit.
        int (*run)(void*) = [](void* p) -> int {
            Child& c = *static_cast<Child*>(p);
            std::apply(
                [&](auto&... in) { c.ec = bp::posix::detail::on_exec_setup(*c.self, *c.executable, c.argv, in...); },
                c.inits);
            if (!c.ec) c.self->close_all_fds(c.ec);
            if (!c.ec) {
                ::execve(c.executable->c_str(), const_cast<char* const*>(c.argv),
                         const_cast<char* const*>(c.self->env));
                c.ec.assign(errno, bp::system_category());
            }
            std::apply(
                [&](auto&... in) { bp::posix::detail::on_exec_error(*c.self, *c.executable, c.argv, c.ec, in...); },
                c.inits);
            return 127;
        };
        Clone3Args cl{};
        cl.flags = kCloneVm | kCloneVfork | kCloneIntoCgroup;
        cl.exit_signal = SIGCHLD;
        cl.stack = reinterpret_cast<std::uintptr_t>(stack);
        cl.stack_size = stack_size;
        cl.cgroup = static_cast<std::uint64_t>(cgroup_fd);
        ctx.notify_fork(asio::execution_context::fork_prepare);
        const long r = clone3_run(cl, run, &child);
        ctx.notify_fork(asio::execution_context::fork_parent);
        if (r < 0) {
            clone3_error = static_cast<int>(-r);
            ec.assign(clone3_error, bp::system_category());
            bp::posix::detail::on_fork_error(*this, executable, argv, ec, inits...);
            bp::posix::detail::on_error(*this, executable, argv, ec, inits...);
            return Process(exec);
        }
        pid = static_cast<int>(r);
        if (child.ec) {  // the exec failed: the child has exited (the reaper collects it)
            ec = child.ec;
            bp::posix::detail::on_error(*this, executable, argv, ec, inits...);
            return Process(exec);
        }
        Process proc(exec, pid);
        bp::posix::detail::on_success(*this, executable, argv, ec, inits...);
        return proc;
    }
};

}  // namespace mainstay::runtime
