// cgroup v2: where it is, and the cgroup subtree one mainstay instance keeps its services in.
//
// cgroup v2 is found through /proc/self/mountinfo (a mount of type `cgroup2`: on hybrid hosts
// it is /sys/fs/cgroup/unified, not /sys/fs/cgroup), mainstay's own cgroup through the `0::`
// line of /proc/self/cgroup. An instance keeps everything it starts under
// `<own>/mainstay-<instance id>/`: one leaf per service (`service.<name>`; names of cgroupfs
// interface files are `<controller>.<file>`, and "service" is no controller) and one for
// probes, stop commands and hooks (`helpers`). A child joins its leaf before exec (spawner.hpp),
// so whatever it forks, daemons included, stays there: stopping or killing a service reaches
// all of it (cgroup.kill where the kernel has it, 5.14+, else each listed pid), and a
// successor finds what a killed instance left (leftovers.hpp).
//
// The "no internal processes" rule: controllers (for `limits`) can be enabled for children only
// in a cgroup that holds no process itself (the root excepted). When mainstay is alone in its
// own cgroup it moves into `<instance>/supervisor` to make that possible; otherwise limits are
// reported as not applied, and everything else works the same.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"

namespace mainstay::runtime {
namespace cgroup {

struct Mount {
    std::filesystem::path point;  // where it is mounted
    std::string root;             // which cgroup is the mount's root ("/" unless a namespace or bind)
};

// The first `cgroup2` mount in a /proc/PID/mountinfo text (octal escapes such as \040 decoded).
std::optional<Mount> parse_mountinfo(std::string_view text);
// The cgroup v2 path ("/user.slice/x.scope") from a /proc/PID/cgroup text: its `0::` line.
std::optional<std::string> parse_proc_cgroup(std::string_view text);
// The directory of `cgroup` under `mount`; nullopt when the mount does not show it.
std::optional<std::filesystem::path> locate(const Mount& mount, std::string_view cgroup);
// The cpu.max line for `cpus` CPUs: 1.5 -> "150000 100000".
std::string cpu_max(double cpus);
// The pids of a cgroup.procs text, one per line.
std::vector<int> parse_pids(std::string_view text);
// The words of a cgroup.controllers or cgroup.subtree_control text.
std::vector<std::string> parse_words(std::string_view text);
// The controllers `limits` needs: "memory", "cpu", "pids".
std::vector<std::string> controllers_for(const config::LimitsSpec& limits);
// The name of an instance's directory under mainstay's own cgroup.
std::string instance_dir_name(std::string_view instance_id);

struct Self {
    Mount mount;
    std::filesystem::path dir;  // mainstay's own cgroup
};
// Where mainstay's own cgroup v2 directory is, or nullopt with `reason`.
std::optional<Self> find_self(std::string& reason);

// Every pid in `dir` and its descendants.
std::vector<int> pids_in(const std::filesystem::path& dir);
// SIGKILL to every process of `dir` and its descendants: cgroup.kill, else each pid.
void kill_tree(const std::filesystem::path& dir);
// Removes `dir` and its descendants, deepest first; true when `dir` is gone. A cgroup is busy
// (EBUSY) while a process is in it: try again once they are dead.
bool remove_tree(const std::filesystem::path& dir);

}  // namespace cgroup

class CgroupTree {
public:
    static constexpr std::string_view kHelpers = "helpers";

    // Makes `<self.dir>/mainstay-<instance_id>`; nullptr with `reason` when it cannot be
    // created or written (read-only cgroupfs, no delegation to this user).
    static std::unique_ptr<CgroupTree> create(const cgroup::Self& self, const std::string& instance_id,
                                              std::string& reason);

    const std::filesystem::path& dir() const { return dir_; }
    static std::string service_leaf(const std::string& name) { return "service." + name; }

    // Makes `wanted` controllers available to the leaves where possible; returns those that
    // are, and says why the others are not in `why`.
    std::vector<std::string> enable(const std::vector<std::string>& wanted, std::string& why);
    // Opens the leaf's directory (creating the leaf), for clone3's CLONE_INTO_CGROUP or an
    // openat of its cgroup.procs: an fd (O_RDONLY | O_DIRECTORY | O_CLOEXEC), or -1 with `error`.
    int open_leaf(const std::string& leaf, std::string& error);
    // Writes memory.max, cpu.max, pids.max; an error message, or empty.
    std::string apply_limits(const std::string& leaf, const config::LimitsSpec& limits);
    // `sig` to every process of the leaf (SIGKILL: through cgroup.kill when present); nothing
    // when it has none. True when SIGKILL was sent to the whole leaf: a process later *born* in
    // it (clone3 CLONE_INTO_CGROUP) is then killed at once by some kernels (6.18 here), so the
    // caller makes the leaf anew, or moves the next process in instead.
    bool signal(const std::string& leaf, int sig);
    // rmdir of the leaf; true when it is gone, false while processes remain.
    bool remove(const std::string& leaf);
    // Kills what remains anywhere in the subtree and removes it; true when it is gone.
    bool clear();

private:
    explicit CgroupTree(std::filesystem::path base, std::filesystem::path dir)
        : base_(std::move(base)), dir_(std::move(dir)) {}
    std::filesystem::path base_;  // mainstay's own cgroup when it started
    std::filesystem::path dir_;
};

}  // namespace mainstay::runtime
