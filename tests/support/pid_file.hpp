// The pid a process wrote to a file (test-service's --pid-file, --grandchild-pid-file): -1
// while there is none yet. Callers check it (> 1) before they use it, and signal only through
// signal_guard.hpp.
#pragma once

#include <filesystem>
#include <fstream>

namespace mainstay::testing {

inline int read_pid(const std::filesystem::path& file) {
    std::ifstream in(file);
    int pid = -1;
    if (!(in >> pid)) return -1;
    return pid;
}

}  // namespace mainstay::testing
