// What /proc says of a process, for tests, benchmarks and soaks: its stat line (state, parent,
// start time, CPU time), resident memory, open descriptors.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/proc.hpp"

namespace mainstay::testing {

// VmRSS in KiB, or -1.
inline long rss_kib(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

// Entries of /proc/PID/fd.
inline long descriptors(int pid) {
    long n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        ++n;
    }
    return n;
}

// /proc/PID/stat, read by runtime/proc (the one parser of it); a Stat with state 0 when the
// process is gone (or pid <= 0).
inline runtime::proc::Stat stat_of(int pid) {
    return runtime::proc::stat(pid).value_or(runtime::proc::Stat{});
}

// utime + stime, in clock ticks.
inline long long cpu_ticks(int pid) {
    const runtime::proc::Stat s = stat_of(pid);
    return static_cast<long long>(s.utime + s.stime);
}

}  // namespace mainstay::testing
