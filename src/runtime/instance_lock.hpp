// The single-instance lock: an flock(2) on a file beside the control socket.
//
// The kernel drops the lock when the process dies, so a crashed mainstay never leaves a stale
// lock behind. A second `mainstay run` on the same configuration finds it held and exits 3.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace mainstay::runtime {

class InstanceLock {
public:
    // nullopt with `error` set when the lock is held by another process or cannot be taken.
    static std::optional<InstanceLock> acquire(const std::filesystem::path& path, std::string& error,
                                               bool& held_by_other);
    InstanceLock(InstanceLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    InstanceLock& operator=(InstanceLock&&) = delete;
    ~InstanceLock();

private:
    explicit InstanceLock(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace mainstay::runtime
