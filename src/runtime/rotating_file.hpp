// An append-only log file rotated by size: `x.log` -> `x.log.1` -> ... -> `x.log.N`, N being
// `max_files` (the oldest is dropped), as spdlog rotates mainstay's own log.
//
// Used for the per-service logs, written from the event-loop thread. Writes go straight to the
// file descriptor (local disk), so nothing is held in memory; a failed write (disk full) is
// counted and the line dropped rather than stalling supervision.
#pragma once

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

    // Appends `data` whole (it should end with a newline); rotates first when it would not fit.
    void write(std::string_view data);
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
};

}  // namespace mainstay::runtime
