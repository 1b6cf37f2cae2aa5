// Ending what a killed predecessor left behind, before anything starts (SPEC §4).
//
// A mainstay that holds the instance lock knows that no other instance of its configuration
// runs, so whatever that configuration's previous run left is an orphan: the processes in its
// cgroup subtree (cgroup.hpp), the members of the process groups it recorded
// (group_records.hpp), and, when it ran without a cgroup, the processes that carry its
// MAINSTAY_INSTANCE in their environment (daemons that left their group with setsid). A
// recorded process counts only when it was started on this boot and not before the recorded
// leader (or mainstay itself): a pid reused since is left alone. pid 1, mainstay and its
// ancestors are never signalled. Each process is opened as a pidfd and checked again before
// it is signalled, so the signal cannot reach a process that took its number in between.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/cgroup.hpp"

namespace mainstay::runtime {

// The environment variable each child gets, naming the instance that started it.
inline constexpr const char* kInstanceVariable = "MAINSTAY_INSTANCE";

// And the one a service's own process gets, naming the service (not its helpers').
inline constexpr const char* kServiceVariable = "MAINSTAY_SERVICE";

// The instance's name: a hash of its lock file's absolute path (16 hex digits).
std::string instance_id(const std::filesystem::path& lock_file);

// Without cgroups, when a service's leader has exited: the processes it left outside its
// process group (daemons that called setsid), found among mainstay's own children (orphans
// come to it as subreaper or PID 1) by this instance's and the service's names in their
// environment, are sent SIGKILL, with their own groups. `leaders`: the services' running
// leaders (a restarted one carries the same names). Returns "PID COMM" of each one ended.
std::vector<std::string> end_escaped(const std::string& service, const std::string& instance_id,
                                     const std::set<int>& leaders);

class Leftovers {
public:
    // Finds the predecessor's processes and sends them SIGKILL. `self` is unset when cgroups
    // are not used.
    Leftovers(const std::optional<cgroup::Self>& self, const std::filesystem::path& records_dir, const std::string& id);
    ~Leftovers();
    Leftovers(const Leftovers&) = delete;
    Leftovers& operator=(const Leftovers&) = delete;

    std::size_t count() const { return targets_.size(); }
    // "ended 3 processes left by a previous instance: 812 sleep (service web), ..."; empty when none.
    std::string summary() const;
    // True once every signalled process has exited; then the leftover cgroups and records are
    // removed. Never blocks: call it again later while it returns false.
    bool gone();

private:
    struct Target {
        int pid;
        std::uint64_t start_time;
        std::string comm;
        std::string from;  // "service web", "group of web", "MAINSTAY_INSTANCE"
        int pidfd{-1};
    };
    void add(int pid, const std::string& from, std::uint64_t not_before);
    bool exited(const Target& t) const;

    std::vector<Target> targets_;
    std::vector<int> protected_;                 // mainstay and its ancestors
    std::vector<std::filesystem::path> leaves_;  // of the predecessor's cgroup subtree
    std::optional<std::filesystem::path> instance_dir_;
    std::vector<std::filesystem::path> record_files_;
};

}  // namespace mainstay::runtime
