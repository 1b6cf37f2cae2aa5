// Restart reaction: the time from SIGKILL of a supervised service to the next exec of it.
//
// Measured twice in the same run, on the same test-service program:
//   floor    - a bare C loop: posix_spawn, then on SIGCHLD waitpid and posix_spawn again
//              (what this machine can do at best);
//   mainstay - `mainstay run` with the service's backoff initial 0 and no jitter.
// The service appends "<pid> <CLOCK_MONOTONIC ns>" to a start file when it starts; the bench
// kills the newest pid and waits (inotify, no polling) for the next line. Reported as medians
// and the ratio mainstay/floor: absolute times are noisy on a shared machine, ratios less so.
//
//   restart_bench MAINSTAY TEST_SERVICE [ROUNDS]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/signal_guard.hpp"

extern char** environ;

namespace {

long long now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

struct Start {
    int pid;
    long long at;
};

std::vector<Start> read_starts(const std::string& file) {
    std::vector<Start> out;
    std::ifstream in(file);
    Start s{};
    while (in >> s.pid >> s.at) out.push_back(s);
    return out;
}

// Waits until the start file has more than `count` lines; false after 10 s.
bool wait_for_starts(int inotify_fd, const std::string& file, std::size_t count) {
    const long long deadline = now_ns() + 10'000'000'000LL;
    while (read_starts(file).size() <= count) {
        if (now_ns() > deadline) return false;
        char buf[4096];
        pollfd p{inotify_fd, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            ssize_t ignored = ::read(inotify_fd, buf, sizeof buf);
            (void)ignored;
        }
    }
    return true;
}

// Kills the newest process `rounds` times; returns each SIGKILL -> next start, in ms.
std::vector<double> measure(const std::string& start_file, int rounds) {
    int in = ::inotify_init1(IN_CLOEXEC);
    ::inotify_add_watch(in, std::filesystem::path(start_file).parent_path().c_str(), IN_MODIFY | IN_CREATE);
    std::vector<double> reactions;
    if (!wait_for_starts(in, start_file, 0)) return reactions;
    for (int i = 0; i < rounds; ++i) {
        auto starts = read_starts(start_file);
        const long long t0 = now_ns();
        mainstay::testing::signal_process(starts.back().pid, SIGKILL);
        if (!wait_for_starts(in, start_file, starts.size())) break;
        reactions.push_back(static_cast<double>(read_starts(start_file).back().at - t0) / 1e6);
    }
    ::close(in);
    return reactions;
}

// The floor: a supervisor as small as it gets.
[[noreturn]] void bare_loop(const char* service, const char* start_file) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigaddset(&chld, SIGTERM);
    sigprocmask(SIG_BLOCK, &chld, nullptr);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    char* argv[] = {const_cast<char*>(service), const_cast<char*>("--start-file"), const_cast<char*>(start_file),
                    nullptr};
    pid_t child = -1;
    for (;;) {
        posix_spawn(&child, service, nullptr, &attr, argv, environ);
        for (;;) {
            int sig = sigwaitinfo(&chld, nullptr);
            if (sig == SIGTERM) {
                mainstay::testing::signal_process(child, SIGKILL);
                ::waitpid(child, nullptr, 0);
                ::_exit(0);
            }
            if (sig == SIGCHLD && ::waitpid(child, nullptr, WNOHANG) == child) break;
        }
    }
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MAINSTAY TEST_SERVICE [ROUNDS]\n", argv[0]);
        return 64;
    }
    const std::string mainstay = argv[1];
    const std::string service = std::filesystem::absolute(argv[2]).string();
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 200;
    char tmpl[] = "/tmp/mainstay-bench-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(tmpl);

    // Floor.
    const std::string floor_file = (dir / "floor.starts").string();
    pid_t floor_pid = ::fork();
    if (floor_pid == 0) bare_loop(service.c_str(), floor_file.c_str());
    auto floor = measure(floor_file, rounds);
    mainstay::testing::signal_process(floor_pid, SIGTERM);
    ::waitpid(floor_pid, nullptr, 0);

    // mainstay.
    std::filesystem::create_directories(dir / "services.d");
    std::ofstream(dir / "mainstay.yaml") << "services_dir: services.d\nlog: {level: warn}\n"
                                            "status: {socket: run/control.sock}\n";
    std::ofstream(dir / "services.d/victim.yaml")
        << "command: [" << service << ", --start-file, " << (dir / "ms.starts").string() << "]\n"
        << "restart: {backoff: {initial: 0s, jitter: none}, circuit_breaker: {failure_threshold: 1000000}}\n";
    pid_t ms_pid = ::fork();
    if (ms_pid == 0) {
        int devnull = ::open("/dev/null", O_WRONLY);
        ::dup2(devnull, 1);
        std::string config = (dir / "mainstay.yaml").string();
        ::execl(mainstay.c_str(), mainstay.c_str(), "run", "-c", config.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    auto ms = measure((dir / "ms.starts").string(), rounds);
    mainstay::testing::signal_process(ms_pid, SIGTERM);
    ::waitpid(ms_pid, nullptr, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);

    if (floor.size() < static_cast<std::size_t>(rounds) || ms.size() < static_cast<std::size_t>(rounds)) {
        std::fprintf(stderr, "incomplete: floor %zu/%d, mainstay %zu/%d rounds\n", floor.size(), rounds, ms.size(),
                     rounds);
        return 1;
    }
    std::printf("restart reaction, SIGKILL -> next exec, %d rounds each\n", rounds);
    std::printf("%-10s %10s %10s %10s\n", "", "median ms", "p90 ms", "max ms");
    std::printf("%-10s %10.3f %10.3f %10.3f\n", "floor", median(floor), percentile(floor, 0.9), percentile(floor, 1.0));
    std::printf("%-10s %10.3f %10.3f %10.3f\n", "mainstay", median(ms), percentile(ms, 0.9), percentile(ms, 1.0));
    std::printf("ratio (median mainstay / median floor): %.2f\n", median(ms) / median(floor));
    return 0;
}
