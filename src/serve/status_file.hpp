// `status.file`: the status document (SPEC §5) on disk, replaced atomically (a temporary file
// beside it, fsync, rename) by a thread of its own, so that a slow or full disk never holds
// the supervision thread. put() only swaps the newest document in: while a write is under way,
// newer documents replace each other and only the last one is written (no write storm, no
// queue). A write that fails is reported once (through `report`, called on the writer thread:
// the caller posts it to its own thread), and once more when writing works again.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace mainstay::serve {

class StatusFile {
public:
    StatusFile(std::filesystem::path path, std::function<void(const std::string&)> report);
    // Writes what was put last (waiting for it at most `deadline`), then ends the thread; a
    // thread stuck on a hung disk is left behind.
    ~StatusFile();
    StatusFile(const StatusFile&) = delete;
    StatusFile& operator=(const StatusFile&) = delete;

    void put(std::string document);
    // Documents written so far (for tests and the metrics).
    std::uint64_t written() const;
    const std::filesystem::path& path() const { return path_; }

private:
    struct Shared;
    void run();

    std::filesystem::path path_;
    std::shared_ptr<Shared> shared_;
    std::thread thread_;
};

// Writes `text` to `path` atomically: `path.tmp`, fsync, rename. Empty on success, else why not.
std::string write_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace mainstay::serve
