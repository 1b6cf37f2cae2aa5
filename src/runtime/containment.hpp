// Where `mainstay run` keeps its children, and what it does to the processes around it: the
// operating system's side of starting and finishing an instance.
//
// Containment: a cgroup subtree when cgroup v2 is usable (and not refused with
// MAINSTAY_NO_CGROUP=1), else records of the services' process groups; what a killed
// predecessor left is ended first (leftovers.hpp).
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/schema.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/group_records.hpp"
#include "runtime/logging.hpp"

namespace mainstay::runtime {

struct Containment {
    std::unique_ptr<CgroupTree> tree;
    std::unique_ptr<GroupRecords> records;
    std::string id;
    std::vector<std::string> limits_told;  // services whose limits were said not to apply, once
};

// Ends what a predecessor left (waiting up to 5 s on `io`, before anything else runs on it),
// then makes this instance's cgroup subtree or its group records. Says, once per service that
// sets `limits`, when they cannot be applied.
Containment contain(const config::Config& config, const std::filesystem::path& lock_file, boost::asio::io_context& io,
                    Logging& logging);

// SIGKILL to every process whose parent is mainstay: after shutdown these are orphans that
// escaped their service's process group (a daemon that called setsid), reparented to us as
// PID 1 or subreaper.
void kill_our_children();
// Whether mainstay has a child left, reaped or not (waitid, WNOWAIT: nothing is reaped here).
bool have_children();
// Gives the heap pages freed since (a configuration's parse trees, copies made while building)
// back to the system: glibc keeps them otherwise, and they would count in mainstay's RSS.
void release_free_memory();

// From the first instant of `mainstay run` until the daemon takes over its signals: SIGTERM,
// SIGINT or SIGQUIT end mainstay at once (exit 0; nothing has been started yet). As PID 1 a
// signal with no handler is dropped by the kernel, so without this a slow configuration load
// (a hung network file system) could not be interrupted.
void exit_on_stop_signals();

}  // namespace mainstay::runtime
