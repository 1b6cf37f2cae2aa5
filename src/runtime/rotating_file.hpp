// An append-only log file rotated by size: `x.log` -> `x.log.1` -> ... -> `x.log.N`, N being
// `max_files` (the oldest is dropped).
//
// Used for mainstay's own log and the per-service logs, only by the output writer's thread.
// Writes go straight to the file descriptor (write(2), no buffer held here), so a line written
// is in the file at once and a file costs no memory. Created with mode 0640 and O_CLOEXEC.
// A write cut short (the disk filled in the middle of it) is cut back to its last whole line,
// so no torn line is left for the next one to be glued to.
// A failed open or write (disk full, directory gone) makes the file `failing()`: the caller
// drops its lines, and the next write tries again (a failed open is retried at most once a
// second); the first write that succeeds ends the episode.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace mainstay::runtime {

class RotatingFile {
public:
    RotatingFile(std::filesystem::path path, std::uint64_t max_size, std::uint32_t max_files);
    ~RotatingFile();
    RotatingFile(const RotatingFile&) = delete;
    RotatingFile& operator=(const RotatingFile&) = delete;

    // Appends `data` (whole lines); rotates first when it would not fit. Returns how many bytes
    // were written: fewer than data.size() when the file is failing.
    std::size_t write(std::string_view data);
    // Whether `n` more bytes go into the current file without a rotation before them.
    bool fits(std::uint64_t n) const { return size_ == 0 || size_ + n <= max_size_; }
    bool failing() const { return error_ != 0; }
    int error() const { return error_; }  // errno of the failure, 0 when writing
    std::uint64_t dropped_writes() const { return dropped_; }
    const std::filesystem::path& path() const { return path_; }

private:
    void open();
    void rotate();

    std::filesystem::path path_;
    std::uint64_t max_size_;
    std::uint32_t max_files_;
    int fd_{-1};
    std::uint64_t size_{0};
    std::uint64_t dropped_{0};
    int error_{0};
    std::chrono::steady_clock::time_point next_open_{};
};

}  // namespace mainstay::runtime
