#include "runtime/run.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <random>

#include "config/values.hpp"
#include "runtime/doing.hpp"
#include "runtime/fd_limits.hpp"
#include "runtime/instance_lock.hpp"
#include "runtime/logging.hpp"
#include "runtime/real_world.hpp"
#include "runtime/reaper.hpp"
#include "supervisor/supervisor.hpp"

namespace mainstay::runtime {
namespace {

// Every process whose parent is mainstay: after shutdown these are orphans that escaped their
// service's process group (a daemon that called setsid), reparented to us as PID 1 or subreaper.
void kill_our_children() {
    const pid_t self = ::getpid();
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return;
    while (dirent* e = ::readdir(proc)) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end != '\0') continue;
        std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
        std::string line;
        std::getline(stat, line);
        auto close = line.rfind(')');  // the command name may hold spaces and parentheses
        if (close == std::string::npos) continue;
        char state = 0;
        long ppid = 0;
        if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) == 2 && ppid == self) {
            ::kill(static_cast<pid_t>(pid), SIGKILL);
        }
    }
    ::closedir(proc);
}

bool have_children() {
    siginfo_t info{};
    return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

extern "C" void exit_now(int sig) {
    static const char message[] = "mainstay: stop signal received while loading the configuration: exiting\n";
    ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
    ::_exit(sig == SIGTERM || sig == SIGINT || sig == SIGQUIT ? 0 : 1);
}

}  // namespace

void exit_on_stop_signals() {
    struct sigaction action {};
    action.sa_handler = exit_now;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGQUIT}) ::sigaction(sig, &action, nullptr);
}

int run(const config::Config& config) {
    bool held = false;
    std::string error;
    auto lock = InstanceLock::acquire(config.main.status.socket.string() + ".lock", error, held);
    if (!lock) {
        std::fprintf(stderr, "mainstay: error: %s\n", error.c_str());
        return held ? 3 : 71;  // EX_OSERR: 1 is SPEC's for a critical failure
    }
    // A console reader that goes away must not kill the supervisor: writes fail with EPIPE
    // instead. (Children get default dispositions back before exec.)
    ::signal(SIGPIPE, SIG_IGN);
    Logging logging(config.main.log);
    logging.log(config::LogLevel::info, raise_nofile_limit());
    const bool pid1 = ::getpid() == 1;
    if (!pid1 && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        logging.log(config::LogLevel::warn, std::string("cannot become a subreaper (") + std::strerror(errno) +
                                                "): orphaned grandchildren go to init, not to mainstay");
    }

    boost::asio::io_context io(1);
    RealWorld world(io, config, logging);
    supervisor::Supervisor supervisor(config, world, std::random_device{}());
    world.attach(supervisor);

    bool finishing = false;
    Reaper reaper(io, [&](int pid, const supervisor::ExitStatus& status) {
        Doing doing("handling the exit of pid", nullptr, pid);
        world.process_ended(pid);
        bool known = supervisor.on_exit(pid, status) || world.on_exit(pid, status);
        if (!known) logging.log(config::LogLevel::debug, "reaped orphan " + std::to_string(pid) + " (" + status.describe() + ")");
        return known;
    });

    // After the last service stopped: kill what escaped, wait for it and for the last output.
    boost::asio::steady_timer finish(io);
    auto deadline = std::chrono::steady_clock::now();
    std::function<void()> check_finished = [&] {
        kill_our_children();
        reaper.reap_now();
        const bool children = have_children();
        if ((!children && world.open_captures() == 0) || std::chrono::steady_clock::now() >= deadline) {
            if (children) logging.log(config::LogLevel::error, "processes still alive after SIGKILL (uninterruptible?)");
            io.stop();
            return;
        }
        finish.expires_after(std::chrono::milliseconds(10));
        finish.async_wait([&](const boost::system::error_code& ec) {
            if (!ec) check_finished();
        });
    };
    auto maybe_finish = [&] {
        if (world.complete() && !finishing) {
            finishing = true;
            deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
            logging.log(config::LogLevel::info, "all services stopped");
            check_finished();
        }
    };

    // The supervisor decides what each signal means (supervisor.hpp); here they are only caught.
    boost::asio::signal_set signals(io);
    for (int sig : supervisor::Supervisor::handled_signals()) signals.add(sig);
    std::function<void()> wait_signal = [&] {
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            wait_signal();
            Doing doing("handling signal", nullptr, sig);
            supervisor.on_signal(sig);
            maybe_finish();
        });
    };
    wait_signal();

    logging.log(config::LogLevel::info, "mainstay starting " + std::to_string(config.services.size()) + " services (pid " +
                                            std::to_string(::getpid()) + (pid1 ? ", PID 1)" : ", subreaper)"));
    // The one exception boundary: whatever a handler throws is logged with what was being done,
    // and supervision goes on.
    auto contained = [&](auto&& step) {
        try {
            step();
        } catch (const std::exception& e) {
            logging.log(config::LogLevel::error,
                        "internal error while " + Doing::take() + ": " + e.what() + " (supervision goes on)");
        }
    };
    contained([&] {
        Doing doing("starting the services");
        supervisor.start();
    });
    contained([&] { reaper.reap_now(); });
    contained(maybe_finish);  // an early critical exit may have nothing left to wait for

    // Each event may complete the shutdown: look after every handler.
    bool idle = false;
    while (!io.stopped() && !idle) {
        contained([&] {
            idle = io.run_one() == 0;
            maybe_finish();
        });
    }
    logging.log(config::LogLevel::info, "mainstay stopped");
    return supervisor.exit_code();
}

}  // namespace mainstay::runtime
