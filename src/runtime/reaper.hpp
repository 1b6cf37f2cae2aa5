// The reaper: the one owner of every wait for a child process.
//
// SIGCHLD coalesces, so on each one the reaper collects every exited child. It first peeks
// (waitid with WNOWAIT) and hands the pid and status to the handler while the zombie still
// holds the pid, so the handler may safely signal the dead leader's process group (no pid
// reuse is possible yet); then it reaps. Children the handler does not know are orphans
// (reparented grandchildren when mainstay is PID 1 or a subreaper) and are only reaped.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "supervisor/world.hpp"

namespace mainstay::runtime {

class Reaper {
public:
    // Returns true when the pid was one of ours.
    using ExitHandler = std::function<bool(int pid, const supervisor::ExitStatus& status)>;

    // Installs the SIGCHLD handler; create it before the first child is started.
    Reaper(boost::asio::io_context& io, ExitHandler handler);
    ~Reaper();

    // Collects every child that has exited by now (also called once at start-up).
    void reap_now();
    std::size_t orphans_reaped() const { return orphans_; }

private:
    void wait();

    struct Impl;
    std::unique_ptr<Impl> impl_;
    ExitHandler handler_;
    std::size_t orphans_{0};
};

}  // namespace mainstay::runtime
