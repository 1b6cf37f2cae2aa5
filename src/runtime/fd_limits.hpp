// mainstay's open-files limit, and the limit and descriptors its children start with.
//
// A supervisor of hundreds of services holds a pipe and a log file per service, so at start it
// raises its soft RLIMIT_NOFILE to the hard limit (as systemd does for itself); each child gets
// back the limit mainstay was started with, so a service sees what it would have seen without
// mainstay. In the child, every descriptor from 3 up is marked close-on-exec: with close_range
// where the kernel has CLOSE_RANGE_CLOEXEC (5.11+), else one fcntl per descriptor up to the limit.
#pragma once

#include <sys/resource.h>

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

// What spawned children are given (read in the vfork child: plain data, no locks).
const ChildLimits& child_limits();

// Marks descriptors first..ceiling-1 close-on-exec. Async-signal-safe (raw system calls, no
// allocation): it runs in the vfork child. `use_close_range` false forces the fcntl walk (the
// path of kernels before 5.11; tests take it on purpose). Returns false when close_range was
// refused and the walk was used.
bool mark_cloexec_from(int first, int ceiling, bool use_close_range);

}  // namespace mainstay::runtime
