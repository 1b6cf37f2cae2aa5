// Churn soak: N services SIGKILLed at random, thousands of times, then a look at what is left.
//
//   churn_soak MAINSTAY TEST_SERVICE [SERVICES=50] [KILLS=3000]
// Every service restarts at once (backoff 0, breaker out of reach). A kill goes only to the pid
// a service wrote to its pid file, and only while /proc says its parent is this mainstay (so a
// reused pid is never hit). After a warm-up of KILLS/10, mainstay's descriptors and RSS are
// taken; at the end (every service running again) they are taken again, and mainstay's zombie
// children counted. Exit 0 when every service runs, no zombie is left, descriptors are
// unchanged and RSS grew by less than 2 MB.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/pid_file.hpp"
#include "support/proc_stats.hpp"
#include "support/signal_guard.hpp"

namespace {

using mainstay::testing::cpu_ticks;
using mainstay::testing::descriptors;
using mainstay::testing::read_pid;
using mainstay::testing::rss_kib;
using mainstay::testing::stat_of;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int zombies_of(int parent) {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
        const int pid = std::atoi(e.path().filename().c_str());
        if (pid <= 0) continue;
        const auto st = stat_of(pid);
        n += st.ppid == parent && st.state == 'Z';
    }
    return n;
}

// A service's current process: its pid file names a live child of `parent`.
int running_child(const fs::path& pid_file, int parent) {
    const int pid = read_pid(pid_file);
    if (pid <= 1) return -1;
    const auto st = stat_of(pid);
    return st.ppid == parent && st.state != 'Z' && st.state != 0 ? pid : -1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: churn_soak MAINSTAY TEST_SERVICE [SERVICES] [KILLS]\n");
        return 64;
    }
    const std::string mainstay = argv[1], service = argv[2];
    const int n = argc > 3 ? std::atoi(argv[3]) : 50;
    const int kills = argc > 4 ? std::atoi(argv[4]) : 3000;
    char tmpl[] = "/tmp/mainstay-soak-XXXXXX";
    const fs::path dir = ::mkdtemp(tmpl);
    fs::create_directories(dir / "services.d");
    std::ofstream(dir / "mainstay.yaml") << "services_dir: services.d\nlog: {file: logs/mainstay.log, level: warn}\n"
                                            "status: {socket: run/control.sock}\n";
    for (int i = 0; i < n; ++i) {
        std::ofstream(dir / "services.d" / ("s" + std::to_string(i) + ".yaml"))
            << "command: [" << service << ", --pid-file, " << (dir / ("s" + std::to_string(i) + ".pid")).string()
            << "]\n"
            << "restart: {backoff: {initial: 0s, jitter: none}, circuit_breaker: {failure_threshold: 100000000}}\n";
    }
    const pid_t ms = ::fork();
    if (ms == -1) return 1;
    if (ms == 0) {
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(null, 2);
        const std::string config = (dir / "mainstay.yaml").string();
        ::execl(mainstay.c_str(), mainstay.c_str(), "run", "-c", config.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    auto all_running = [&] {
        for (int i = 0; i < n; ++i) {
            if (running_child(dir / ("s" + std::to_string(i) + ".pid"), ms) <= 1) return false;
        }
        return true;
    };
    auto wait_all_running = [&](std::chrono::seconds limit) {
        const auto end = Clock::now() + limit;
        while (!all_running()) {
            if (Clock::now() > end) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return true;
    };
    if (!wait_all_running(std::chrono::seconds(30))) {
        std::fprintf(stderr, "churn_soak: the services did not all start\n");
        mainstay::testing::signal_process(ms, SIGKILL);
        return 1;
    }
    std::mt19937 random(12345);
    long fds_before = 0, rss_before = 0;
    int sent = 0;
    const auto begin = Clock::now();
    const auto give_up = Clock::now() + std::chrono::minutes(10);
    for (bool warmed = false; sent < kills && Clock::now() < give_up;) {
        if (!warmed && sent >= kills / 10) {
            warmed = true;
            wait_all_running(std::chrono::seconds(30));
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            fds_before = descriptors(ms);
            rss_before = rss_kib(ms);
        }
        const int victim = static_cast<int>(random() % static_cast<unsigned>(n));
        const int pid = running_child(dir / ("s" + std::to_string(victim) + ".pid"), ms);
        if (pid > 1 && mainstay::testing::signal_process(pid, SIGKILL)) ++sent;
        std::this_thread::sleep_for(std::chrono::microseconds(200 + random() % 1000));
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    const bool running = wait_all_running(std::chrono::seconds(60));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const int zombies = zombies_of(ms);
    const long fds_after = descriptors(ms), rss_after = rss_kib(ms);
    mainstay::testing::signal_process(ms, SIGTERM);
    int status = 0;
    ::waitpid(ms, &status, 0);
    std::printf("churn soak: %d services, %d SIGKILLs in %.1f s\n", n, sent, seconds);
    std::printf("  every service running again: %s\n", running ? "yes" : "NO");
    std::printf("  zombie children of mainstay: %d\n", zombies);
    std::printf("  mainstay descriptors: %ld after warm-up, %ld at the end\n", fds_before, fds_after);
    std::printf("  mainstay RSS: %.1f MB after warm-up, %.1f MB at the end\n", static_cast<double>(rss_before) / 1024.0,
                static_cast<double>(rss_after) / 1024.0);
    std::printf("  clean exit after SIGTERM: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "NO");
    std::error_code ec;
    fs::remove_all(dir, ec);
    const bool ok = running && zombies == 0 && fds_after == fds_before && rss_after - rss_before < 2048 &&
                    WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return ok ? 0 : 1;
}
