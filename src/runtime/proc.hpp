// Small, exception-free reads of /proc and of one-line files (cgroupfs, records).
//
// What the leftover hunt (leftovers.hpp) and the cgroup code need to know about a process
// without asking it: its state, parent, process group, CPU time and start time (field 22 of
// /proc/PID/stat, in clock ticks since boot), which together with the boot id tell a process
// from a later one that reused its pid.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mainstay::runtime::proc {

struct Stat {
    int pid{0};
    std::string comm;  // the command name, without the parentheses
    char state{0};     // R S D Z T ...
    int ppid{0};
    int pgid{0};
    int sid{0};
    std::uint64_t utime{0};       // CPU time in user mode, clock ticks
    std::uint64_t stime{0};       // ... in kernel mode
    std::uint64_t start_time{0};  // clock ticks after boot
};

// One line of /proc/PID/stat; nullopt when it does not have the fields.
std::optional<Stat> parse_stat(std::string_view line);
std::optional<Stat> stat(int pid);

// Every numeric entry of /proc.
std::vector<int> all_pids();
// This process's children (those of every thread: orphans reparented to a subreaper may go to
// any), from /proc/self/task/*/children, or by the parent field of every process where the
// kernel has no such file.
std::vector<int> own_children();
// Whether the environment process `pid` started with holds `entry` ("NAME=value").
bool environ_has(int pid, const std::string& entry);

// The whole file (at most `limit` bytes), or nullopt with errno set.
std::optional<std::string> read_file(const std::filesystem::path& path, std::size_t limit = 1 << 20);
// Writes `text` in one write(2) to an existing file (O_WRONLY, no O_CREAT: cgroupfs, procfs);
// 0 or the errno.
int write_existing(const std::filesystem::path& path, std::string_view text);

// /proc/sys/kernel/random/boot_id without its newline; empty when unreadable.
const std::string& boot_id();

}  // namespace mainstay::runtime::proc
