// mainstay's open-files limit, and the limit and descriptors its children start with.
//
// A supervisor of hundreds of services holds a pipe and a log file per service, so at start it
// raises its soft RLIMIT_NOFILE to the hard limit (as systemd does for itself); each child gets
// back the limit mainstay was started with, so a service sees what it would have seen without
// mainstay. In the child, every descriptor from 3 up is marked close-on-exec: with close_range
// where the kernel has CLOSE_RANGE_CLOEXEC (5.11+), else one fcntl per descriptor up to the limit.
#pragma once

#include <sys/resource.h>

#include <cstddef>
#include <string>

namespace mainstay::runtime {

struct ChildLimits {
    bool restore_nofile{false};  // set once raise_nofile_limit() changed the limit
    rlimit nofile{};             // the limit mainstay was started with
    int fd_ceiling{1024};        // no descriptor of ours is at or above this number
};

// Raises the soft open-files limit to the hard one; remembers the original for children.
// Returns a line for the log ("open files: soft limit 1024 -> 4096 (hard)"), or the failure.
std::string raise_nofile_limit();

// Descriptors kept free for mainstay itself, at the top of its limit: the control socket's and
// HTTP's connections, the probes, the log files (at most kMaxOpenLogFiles open at once). A
// start that would eat into them fails (and is retried), so the endpoints keep answering and a
// killed service can come back however many services there are. 128, or a quarter of a small
// limit.
int descriptor_reserve();
// Whether descriptor `fd` is in the top half of the reserve, the part kept for connections and
// probes (the log files take the rest). Descriptors are handed out lowest first, so a new one
// there means all below it are taken: a start that finds its pipe there fails.
bool in_descriptor_reserve(int fd);
// How many services may hold a descriptor for their output at once: the limit less the
// reserve and mainstay's own few. A service holds its slot from its first start until it stops
// for good (stopped, failed, completed), through crashes and restarts (runtime/real_world.hpp).
std::size_t service_descriptor_slots();
// The warning for `services` services that each hold a descriptor while they run, when the
// limit cannot cover them and the reserve; empty when it can.
std::string descriptor_shortfall(std::size_t services);
// The log files kept open at once by the output writer (the least recently used is closed
// first, and opened again when it has lines to write).
inline constexpr std::size_t kMaxOpenLogFiles = 32;

// What spawned children are given (read in the vfork child: plain data, no locks).
const ChildLimits& child_limits();

// Marks descriptors first..ceiling-1 close-on-exec. Async-signal-safe (raw system calls, no
// allocation): it runs in the vfork child. `use_close_range` false forces the fcntl walk (the
// path of kernels before 5.11; tests take it on purpose). Returns false when close_range was
// refused and the walk was used.
bool mark_cloexec_from(int first, int ceiling, bool use_close_range);

}  // namespace mainstay::runtime
