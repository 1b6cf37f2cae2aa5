// The only way tests and benchmarks send signals: to a process (or the group led by a process)
// that they started themselves or that their own services named, and never to a pid <= 1.
//
// kill(-1, SIG) as root ends every process on the machine; kill(0, SIG) the test runner's own
// group; kill(1, ...) init. A pid of -1 is what "no child found" or "pid file still empty"
// usually looks like, so these helpers refuse it loudly instead of passing it to the kernel.
#pragma once

#include <signal.h>

#include <cstdio>

namespace mainstay::testing {

// kill(pid, sig) for pid > 1; otherwise nothing is sent and false is returned (with a message).
inline bool signal_process(int pid, int sig) {
    if (pid <= 1) {
        std::fprintf(stderr, "test refused to signal pid %d (signal %d): not a process it started\n", pid, sig);
        return false;
    }
    return ::kill(pid, sig) == 0;
}

// kill(-pgid, sig) for a group led by a process the test started (pgid > 1).
inline bool signal_group(int pgid, int sig) {
    if (pgid <= 1) {
        std::fprintf(stderr, "test refused to signal process group %d (signal %d)\n", pgid, sig);
        return false;
    }
    return ::kill(-pgid, sig) == 0;
}

}  // namespace mainstay::testing
