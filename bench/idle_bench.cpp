// What N idle services cost mainstay: RSS, descriptors and CPU once they all run, under the
// open-files limit a default Linux session gives (soft 1024, hard 4096).
//
//   idle_bench MAINSTAY [N=1000]
// Each service is `sleep infinity` with a per-service log file. The figures are read from
// /proc once the mode is `full` (every service ready) and settled for 2 s; idle CPU is measured
// over the next 5 s. Then SIGTERM, and the time to a clean exit.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "support/proc_stats.hpp"
#include "support/signal_guard.hpp"

namespace {

using mainstay::testing::cpu_ticks;
using mainstay::testing::descriptors;
using mainstay::testing::rss_kib;

using Clock = std::chrono::steady_clock;

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: idle_bench MAINSTAY [N]\n");
        return 64;
    }
    const std::string mainstay = argv[1];
    const int n = argc > 2 ? std::atoi(argv[2]) : 1000;
    char tmpl[] = "/tmp/mainstay-idle-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(tmpl);
    std::filesystem::create_directories(dir / "services.d");
    std::ofstream(dir / "mainstay.yaml") << "services_dir: services.d\nlog: {file: logs/mainstay.log, level: info}\n"
                                            "status: {socket: run/control.sock}\nstartup: {timeout: 120s}\n";
    for (int i = 0; i < n; ++i) {
        std::ofstream(dir / "services.d" / ("s" + std::to_string(i) + ".yaml"))
            << "command: [sleep, infinity]\nready_after: 100ms\n";
    }
    int out[2];
    if (::pipe(out) != 0) return 1;
    const auto begin = Clock::now();
    const pid_t pid = ::fork();
    if (pid == -1) return 1;
    if (pid == 0) {
        rlimit limit{1024, 4096};
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::dup2(out[1], 1);
        ::close(out[0]);
        const std::string config = (dir / "mainstay.yaml").string();
        ::execl(mainstay.c_str(), mainstay.c_str(), "run", "-c", config.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(out[1]);
    std::string seen;
    char buf[4096];
    double full_ms = -1;
    for (ssize_t got; (got = ::read(out[0], buf, sizeof buf)) > 0;) {
        seen.append(buf, static_cast<std::size_t>(got));
        if (seen.find("mode: ") != std::string::npos) {
            full_ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
            break;
        }
        if (seen.size() > 1 << 20) seen.erase(0, seen.size() - 4096);
    }
    const bool full = seen.find("mode: full") != std::string::npos;
    // Keep reading its output in the background so a warning cannot block it.
    std::thread drain([fd = out[0]] {
        char b[4096];
        while (::read(fd, b, sizeof b) > 0) {
        }
    });
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const long rss = rss_kib(pid);
    const long open = descriptors(pid);
    const long long t0 = cpu_ticks(pid);
    std::this_thread::sleep_for(std::chrono::seconds(5));
    const long long t1 = cpu_ticks(pid);
    const double idle_cpu = 100.0 * static_cast<double>(t1 - t0) / static_cast<double>(::sysconf(_SC_CLK_TCK)) / 5.0;
    const auto stop = Clock::now();
    mainstay::testing::signal_process(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const double stop_ms = std::chrono::duration<double, std::milli>(Clock::now() - stop).count();
    drain.join();
    ::close(out[0]);
    std::printf("idle services: %d (open files soft 1024, hard 4096)\n", n);
    std::printf("  %-28s %s in %.0f ms\n", "all running and ready:", full ? "mode full" : "NOT full", full_ms);
    std::printf("  %-28s %.1f MB (%.1f KB per service)\n", "mainstay RSS:", static_cast<double>(rss) / 1024.0,
                static_cast<double>(rss) / n);
    std::printf("  %-28s %ld (%.2f per service)\n", "mainstay open descriptors:", open, static_cast<double>(open) / n);
    std::printf("  %-28s %.2f %%\n", "mainstay idle CPU:", idle_cpu);
    std::printf("  %-28s %.0f ms, exit %d\n", "SIGTERM to exit:", stop_ms,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return full ? 0 : 1;
}
