// The supervisors of bench/compare: how each is started with its output drained, stopped and
// reaped, and the configuration each is given for the services of a run.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "compare.hpp"
#include "support/signal_guard.hpp"

namespace mainstay::bench::compare {

using mainstay::testing::signal_process;

bool is_mainstay(Kind k) {
    return k == Kind::mainstay || k == Kind::mainstay_nocg;
}

Running::Running(Kind kind, std::vector<std::string> argv, const fs::path& cwd, std::string watch)
    : kind_(kind), watch_(std::move(watch)) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    started_at_ = now_ns();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
        ::setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        // What systemd gives a service (soft 1024, hard 524288), or the soft limit alone where
        // the hard one cannot be raised: the scale rows need more than 1024 descriptors, and
        // a supervisor raises its own soft limit to the hard one.
        rlimit limit{1024, 524288};
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
            ::getrlimit(RLIMIT_NOFILE, &limit);
            limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 1024);
            ::setrlimit(RLIMIT_NOFILE, &limit);
        }
        if (kind == Kind::mainstay_nocg)
            ::setenv("MAINSTAY_NO_CGROUP", "1", 1);
        else
            ::unsetenv("MAINSTAY_NO_CGROUP");
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        if (::chdir(cwd.c_str()) != 0) ::_exit(126);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    ::close(fds[1]);
    drain_ = std::thread([this, fd = fds[0]] {
        std::string seen;
        char buf[65536];
        for (ssize_t got; (got = ::read(fd, buf, sizeof buf)) > 0;) {
            {
                std::lock_guard lock(tail_mutex_);  // the last lines, for a failure's message
                tail_.append(buf, static_cast<std::size_t>(got));
                if (tail_.size() > 3000) tail_.erase(0, tail_.size() - 3000);
            }
            if (watch_.empty() || watched_at_ >= 0) continue;
            seen.append(buf, static_cast<std::size_t>(got));
            if (seen.find(watch_) != std::string::npos) watched_at_ = now_ns();
            if (seen.size() > 1 << 16) seen.erase(0, seen.size() - watch_.size());
        }
        ::close(fd);
    });
}

std::vector<int> Running::parts() const {
    std::vector<int> out{pid_};
    if (kind_ == Kind::runit) {
        for (int child : children_of(pid_)) out.push_back(child);
    }
    return out;
}

bool Running::owns(int pid) const {
    if (pid <= 1) return false;
    const Stat s = stat_of(pid);
    if (s.state == 0 || s.state == 'Z') return false;
    if (s.ppid == pid_) return true;
    return kind_ == Kind::runit && s.ppid > 1 && stat_of(s.ppid).ppid == pid_;
}

double Running::stop() {
    double took = NAN;
    if (pid_ > 1 && !stopped_) {
        stopped_ = true;
        const long long t0 = now_ns();
        signal_process(pid_, kind_ == Kind::runit ? SIGHUP : SIGTERM);
        const long long deadline = now_ns() + 180'000'000'000LL;
        int status = 0;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (now_ns() > deadline) {
                std::fprintf(stderr, "%s did not stop within 180 s: SIGKILL to its process group\n",
                             kNames[int(kind_)]);
                mainstay::testing::signal_group(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            sleep_ms(1);
        }
        took = static_cast<double>(now_ns() - t0) / 1e6;
    }
    if (drain_.joinable()) {
        // The pipe's write end may live on in a service the supervisor left behind.
        reap_orphans();
        drain_.join();
    }
    return took;
}

void Running::reap_orphans() {
    const long long deadline = now_ns() + 10'000'000'000LL;
    for (;;) {
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        const auto left = children_of(::getpid());
        if (left.empty()) return;
        if (now_ns() > deadline) {
            for (int pid : left) signal_process(pid, SIGKILL);
        }
        sleep_ms(10);
    }
}

std::unique_ptr<Running> launch(Kind kind, const Tools& t, const fs::path& dir, const std::vector<Command>& services,
                                const std::string& mainstay_extra, const std::string& watch) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    switch (kind) {
        case Kind::floor: {
            // Every service of a floor run is the same command.
            std::vector<std::string> argv{t.floor, "spawn", std::to_string(services.size())};
            argv.insert(argv.end(), services.front().begin(), services.front().end());
            return std::make_unique<Running>(kind, argv, dir, watch);
        }
        case Kind::mainstay:
        case Kind::mainstay_nocg: {
            fs::create_directories(dir / "services.d");
            std::ofstream(dir / "mainstay.yaml") << "services_dir: services.d\nstatus: {socket: run/control.sock}\n"
                                                    "startup: {timeout: 120s}\n";
            for (std::size_t i = 0; i < services.size(); ++i) {
                std::ofstream f(dir / "services.d" / ("s" + std::to_string(i) + ".yaml"));
                f << "command: [";
                for (std::size_t a = 0; a < services[i].size(); ++a) f << (a ? ", \"" : "\"") << services[i][a] << '"';
                f << "]\n";
                if (mainstay_extra.empty()) {
                    // Restart at once, every time (the floor's behaviour).
                    f << "restart: {backoff: {initial: 0s, jitter: none}, circuit_breaker: {failure_threshold: "
                         "1000000}}\n";
                } else {
                    f << mainstay_extra;
                }
            }
            return std::make_unique<Running>(
                kind, std::vector<std::string>{t.mainstay, "run", "-c", (dir / "mainstay.yaml").string()}, dir, watch);
        }
        case Kind::supervisord: {
            std::ofstream f(dir / "supervisord.conf");
            f << "[supervisord]\nnodaemon=true\nlogfile=" << (dir / "supervisord.log").string()
              << "\npidfile=" << (dir / "supervisord.pid").string() << "\nchildlogdir=" << dir.string()
              << "\nminfds=4096\n";
            for (std::size_t i = 0; i < services.size(); ++i) {
                f << "\n[program:s" << i << "]\ncommand=";
                for (std::size_t a = 0; a < services[i].size(); ++a) f << (a ? " " : "") << services[i][a];
                // startsecs=0: RUNNING at once, so an exit is never "too quick" (no BACKOFF delay).
                f << "\nautorestart=true\nstartsecs=0\nstartretries=1000000\nredirect_stderr=true\nstdout_logfile="
                     "NONE\n";
            }
            f.close();
            return std::make_unique<Running>(
                kind, std::vector<std::string>{t.supervisord, "-n", "-c", (dir / "supervisord.conf").string()}, dir,
                watch);
        }
        case Kind::runit: {
            for (std::size_t i = 0; i < services.size(); ++i) {
                const fs::path sv = dir / "service" / ("s" + std::to_string(i));
                fs::create_directories(sv);
                std::ofstream f(sv / "run");
                f << "#!/bin/sh\nexec";
                for (const auto& a : services[i]) f << ' ' << a;
                f << '\n';
                f.close();
                fs::permissions(sv / "run", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
            }
            return std::make_unique<Running>(kind, std::vector<std::string>{t.runsvdir, (dir / "service").string()},
                                             dir, watch);
        }
    }
    return nullptr;
}

}  // namespace mainstay::bench::compare
