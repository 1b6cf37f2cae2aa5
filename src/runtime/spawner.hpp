// Starting a service's process: the only place that forks.
//
// Resolves the executable first (a missing or non-executable file is a reason, not a fork),
// then starts it through Boost.Process v2 with what a supervised child needs: its own session
// (so its process group can be signalled as one), a clean signal mask and default
// dispositions, no inherited descriptors but stdin (/dev/null), stdout and stderr (one pipe to
// mainstay), a parent-death signal, its service's cgroup when there is one, and the requested
// user, group, directory and environment (the ids as resolved when the configuration was read:
// see config/credentials.hpp).
// The child is detached at once: the reaper (reaper.hpp) owns every wait.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/schema.hpp"

namespace mainstay::runtime {

struct SpawnRequest {
    std::string name;
    config::Argv argv;    // argv[0] looked up in PATH unless it holds a '/'
    bool shell{false};    // argv[0] is a script for /bin/sh -c
    config::EnvVars env;  // added to (and overriding) mainstay's own environment, in order
    std::optional<config::Path> working_dir;
    std::optional<std::string> user;
    std::optional<std::string> group;
    // `user`/`group` as resolved with the configuration; when unset although a name is given,
    // the names are looked up at this start ("unknown user: NAME" if they still do not resolve).
    std::optional<config::Credentials> credentials;
    // The cgroup directory (O_RDONLY | O_DIRECTORY) the child is to run in, or -1. It is born
    // there with clone3(CLONE_INTO_CGROUP) where the kernel has it (clone3_launcher.hpp), else it
    // joins it through cgroup.procs before exec. The caller keeps ownership; it is O_CLOEXEC.
    int cgroup_fd{-1};
    bool cgroup_move{false};  // join it through cgroup.procs even where clone3 could do it
    // Its output goes nowhere (`output: {console: false, file: false}`): stdout and stderr are
    // /dev/null, and there is no pipe for mainstay to read.
    bool discard_output{false};
    // `ready: {fd: N}`: the child's descriptor N is the write end of a pipe mainstay reads.
    int ready_fd{-1};
};

struct Spawned {
    int pid{-1};
    int output_fd{-1};           // the read end of the pipe that is the child's stdout and stderr (the caller owns
                                 // it); -1 with discard_output
    bool born_in_cgroup{false};  // started by clone3 in its cgroup (not moved there before exec)
    int ready_read{-1};          // with ready_fd: the read end of its pipe (the caller owns it)
};

struct SpawnOutcome {
    std::optional<Spawned> spawned;
    std::string error;  // why nothing was started: "executable not found: dockerd"
};

SpawnOutcome spawn(const SpawnRequest& request);

}  // namespace mainstay::runtime
