// The clock, the interrupt flag and what /proc says of a process, for bench/compare; and the start
// files its services append "<pid> <CLOCK_MONOTONIC ns>" to.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "compare.hpp"
#include "support/proc_stats.hpp"

namespace mainstay::bench::compare {

volatile sig_atomic_t g_interrupted = 0;

long long now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

void sleep_ms(long ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void check_interrupt() {
    if (g_interrupted) throw Interrupted();
}

// ---- /proc -----------------------------------------------------------------------------------

std::vector<int> children_of(int parent) {
    std::vector<int> out;
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const int pid = std::atoi(it->path().filename().c_str());
        if (pid > 1 && stat_of(pid).ppid == parent) out.push_back(pid);
    }
    return out;
}

long status_kib(int pid, const char* file, const char* key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
    const std::size_t n = std::strlen(key);
    for (std::string line; std::getline(in, line);) {
        if (line.compare(0, n, key) == 0) return std::atol(line.c_str() + n);
    }
    return 0;
}

long long cpu_ns(int pid) {
    std::ifstream sched("/proc/" + std::to_string(pid) + "/schedstat");
    long long ns = -1;
    if (sched >> ns) return ns;
    const long long ticks = mainstay::testing::cpu_ticks(pid);
    return ticks * 1'000'000'000LL / ::sysconf(_SC_CLK_TCK);
}

// ---- start files -----------------------------------------------------------------------------

bool StartFile::wait_for(std::size_t n, double timeout_s) {
    const long long deadline = now_ns() + static_cast<long long>(timeout_s * 1e9);
    while (count() < n) {
        check_interrupt();
        if (now_ns() > deadline) return false;
        sleep_ms(1);
    }
    return true;
}

void StartFile::read_new() {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[65536];
    for (ssize_t got; (got = ::pread(fd, buf, sizeof buf, offset_)) > 0;) {
        offset_ += got;
        partial_.append(buf, static_cast<std::size_t>(got));
    }
    ::close(fd);
    std::size_t begin = 0;
    for (std::size_t nl; (nl = partial_.find('\n', begin)) != std::string::npos; begin = nl + 1) {
        Start s{};
        if (std::sscanf(partial_.c_str() + begin, "%d %lld", &s.pid, &s.at) == 2) starts_.push_back(s);
    }
    partial_.erase(0, begin);
}

}  // namespace mainstay::bench::compare
