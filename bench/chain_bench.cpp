// A chain of 10 dependent services, each ready when its TCP port listens: how long from the
// start of `mainstay run` until the mode is `full` (every service ready).
//
//   chain_bench MAINSTAY TEST_SERVICE [RUNS]
// s0 has no dependency; s<i> depends on s<i-1> (condition healthy). Each is the test-service
// listening on a port of its own, with a tcp readiness probe (startup_interval 10ms). The time
// is read off mainstay's own output: from fork to the line "mode: full".
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/free_port.hpp"
#include "support/signal_guard.hpp"

namespace {

using mainstay::testing::free_port;

// One run: milliseconds from fork to "mode: full", or a negative number on failure.
double run_once(const std::string& mainstay, const std::string& service, const std::filesystem::path& dir, int length) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "services.d");
    std::ofstream(dir / "mainstay.yaml") << "services_dir: services.d\nstatus: {socket: run/control.sock}\n";
    for (int i = 0; i < length; ++i) {
        int port = free_port();
        std::ofstream f(dir / "services.d" / ("s" + std::to_string(i) + ".yaml"));
        f << "command: [" << service << ", --listen, \"" << port << "\"]\n"
          << "probes: {readiness: {tcp: \"127.0.0.1:" << port << "\", startup_interval: 10ms}}\n";
        if (i > 0) f << "depends_on: [s" << i - 1 << "]\n";
    }
    int fds[2];
    if (::pipe(fds) != 0) return -1;
    auto begin = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], 1);
        ::close(fds[0]);
        std::string config = (dir / "mainstay.yaml").string();
        ::execl(mainstay.c_str(), mainstay.c_str(), "run", "-c", config.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fds[1]);
    std::string seen;
    double ms = -1;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) {
        seen.append(buf, static_cast<std::size_t>(n));
        if (seen.find("mode: full") != std::string::npos) {
            ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
            break;
        }
        if (std::chrono::steady_clock::now() - begin > std::chrono::seconds(30)) break;
    }
    mainstay::testing::signal_process(pid, SIGTERM);
    while (::read(fds[0], buf, sizeof buf) > 0) {
    }
    ::close(fds[0]);
    ::waitpid(pid, nullptr, 0);
    return ms;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MAINSTAY TEST_SERVICE [RUNS]\n", argv[0]);
        return 64;
    }
    const std::string service = std::filesystem::absolute(argv[2]).string();
    const int runs = argc > 3 ? std::atoi(argv[3]) : 20;
    char tmpl[] = "/tmp/mainstay-chain-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(tmpl);
    std::vector<double> times;
    for (int r = 0; r < runs; ++r) {
        double ms = run_once(argv[1], service, dir / "run", 10);
        if (ms < 0) {
            std::fprintf(stderr, "run %d did not reach mode full\n", r);
            return 1;
        }
        times.push_back(ms);
    }
    std::filesystem::remove_all(dir);
    std::sort(times.begin(), times.end());
    std::printf("chain of 10 dependent services to mode full (ready = TCP listen), %d runs\n", runs);
    std::printf("median %.1f ms, p90 %.1f ms, max %.1f ms\n", times[times.size() / 2],
                times[std::min(times.size() - 1, times.size() * 9 / 10)], times.back());
    return 0;
}
