#include "runtime/reaper.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/signal_set.hpp>
#include <cerrno>

namespace mainstay::runtime {

struct Reaper::Impl {
    explicit Impl(boost::asio::io_context& io) : signals(io) {}
    boost::asio::signal_set signals;
};

Reaper::Reaper(boost::asio::io_context& io, ExitHandler handler)
    : impl_(std::make_unique<Impl>(io)), handler_(std::move(handler)) {
    // An inherited SIG_IGN would make the kernel reap children itself, and we'd never see them.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGCHLD, &dfl, nullptr);
    impl_->signals.add(SIGCHLD);
    wait();
}

Reaper::~Reaper() = default;

void Reaper::wait() {
    impl_->signals.async_wait([this](const boost::system::error_code& ec, int) {
        if (ec) return;  // cancelled: the loop is ending
        reap_now();
        wait();
    });
}

void Reaper::reap_now() {
    for (;;) {
        siginfo_t info{};
        if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
        const int pid = info.si_pid;
        supervisor::ExitStatus status = info.si_code == CLD_EXITED ? supervisor::ExitStatus::exited(info.si_status)
                                                                   : supervisor::ExitStatus::killed(info.si_status);
        bool known = handler_(pid, status);
        int ignored = 0;
        while (::waitpid(pid, &ignored, WNOHANG) == -1 && errno == EINTR) {
        }
        if (!known) ++orphans_;
    }
}

}  // namespace mainstay::runtime
