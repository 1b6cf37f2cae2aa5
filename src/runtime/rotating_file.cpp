#include "runtime/rotating_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace mainstay::runtime {

RotatingFile::RotatingFile(std::filesystem::path path, std::uint64_t max_size, std::uint32_t max_files)
    : path_(std::move(path)), max_size_(max_size), max_files_(max_files) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    open();
}

RotatingFile::~RotatingFile() {
    if (fd_ != -1) ::close(fd_);
}

void RotatingFile::open() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat st {};
    size_ = (fd_ != -1 && ::fstat(fd_, &st) == 0) ? static_cast<std::uint64_t>(st.st_size) : 0;
}

void RotatingFile::rotate() {
    if (fd_ != -1) ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    auto numbered = [&](std::uint32_t n) { return std::filesystem::path(path_.string() + "." + std::to_string(n)); };
    // Like spdlog's rotating sink (the main log): x.log plus x.log.1 ... x.log.<max_files>.
    std::filesystem::remove(numbered(max_files_), ec);
    for (std::uint32_t n = max_files_; n > 1; --n) std::filesystem::rename(numbered(n - 1), numbered(n), ec);
    std::filesystem::rename(path_, numbered(1), ec);
    open();
}

void RotatingFile::write(std::string_view data) {
    if (size_ > 0 && size_ + data.size() > max_size_) rotate();
    if (fd_ == -1) open();
    if (fd_ == -1) {
        ++dropped_;
        return;
    }
    while (!data.empty()) {
        ssize_t n = ::write(fd_, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ++dropped_;
            return;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
        size_ += static_cast<std::uint64_t>(n);
    }
}

}  // namespace mainstay::runtime
