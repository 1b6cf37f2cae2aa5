#include "runtime/rotating_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace mainstay::runtime {

RotatingFile::RotatingFile(std::filesystem::path path, std::uint64_t max_size, std::uint32_t max_files)
    : path_(std::move(path)), max_size_(max_size), max_files_(max_files) {}  // opened by the first write

RotatingFile::~RotatingFile() {
    if (fd_ != -1) ::close(fd_);
}

void RotatingFile::open() {
    next_open_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    std::error_code ec;
    if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), ec);
    // O_NOFOLLOW: a link planted at a log's name is refused (ELOOP, reported as a failing
    // file), never written through.
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd_ == -1) {
        error_ = errno;
        size_ = 0;
        return;
    }
    struct stat st {};
    size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

void RotatingFile::rotate() {
    if (fd_ != -1) ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    auto numbered = [&](std::uint32_t n) { return std::filesystem::path(path_.string() + "." + std::to_string(n)); };
    // x.log plus x.log.1 ... x.log.<max_files>, the oldest dropped.
    std::filesystem::remove(numbered(max_files_), ec);
    for (std::uint32_t n = max_files_; n > 1; --n) std::filesystem::rename(numbered(n - 1), numbered(n), ec);
    std::filesystem::rename(path_, numbered(1), ec);
    open();
}

std::size_t RotatingFile::write(std::string_view data) {
    if (fd_ == -1 && std::chrono::steady_clock::now() >= next_open_) open();
    if (fd_ != -1 && !fits(data.size())) rotate();
    if (fd_ == -1) {
        ++dropped_;
        return 0;
    }
    std::size_t written = 0;
    while (written < data.size()) {
        ssize_t n = ::write(fd_, data.data() + written, data.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error_ = n < 0 ? errno : ENOSPC;
            ++dropped_;
            // The disk filled in the middle of a line: cut the file back to the last whole
            // line, so that the next line written, once there is room, does not continue it.
            const std::size_t whole = [&] {
                const auto nl = data.substr(0, written).rfind('\n');
                return nl == std::string_view::npos ? 0 : nl + 1;
            }();
            if (whole < written && ::ftruncate(fd_, static_cast<off_t>(size_ - (written - whole))) == 0) {
                size_ -= written - whole;
                written = whole;
            }
            return written;
        }
        written += static_cast<std::size_t>(n);
        size_ += static_cast<std::uint64_t>(n);
    }
    error_ = 0;
    return written;
}

}  // namespace mainstay::runtime
