#include "runtime/instance_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace mainstay::runtime {

std::optional<InstanceLock> InstanceLock::acquire(const std::filesystem::path& path, std::string& error,
                                                  bool& held_by_other) {
    held_by_other = false;
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1) {
        error = errno == ELOOP
                    ? "lock file " + path.string() + " is a symbolic link: refused (remove it if it is yours)"
                    : "cannot open lock file " + path.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) == -1) {
        held_by_other = errno == EWOULDBLOCK;
        error = held_by_other ? "another mainstay instance holds " + path.string()
                              : "cannot lock " + path.string() + ": " + std::strerror(errno);
        ::close(fd);
        return std::nullopt;
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0 && ::write(fd, pid.data(), pid.size()) < 0) {
        // The pid in the file is informational only; the lock is what counts.
    }
    return InstanceLock(fd);
}

InstanceLock::~InstanceLock() {
    if (fd_ != -1) ::close(fd_);
}

}  // namespace mainstay::runtime
