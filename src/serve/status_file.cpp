#include "serve/status_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace mainstay::serve {

struct StatusFile::Shared {
    std::mutex mutex;
    std::condition_variable wake;
    std::condition_variable idle;
    std::optional<std::string> pending;
    bool writing{false};
    bool stop{false};
    std::uint64_t written{0};
    std::function<void(const std::string&)> report;
};

std::string write_atomically(const std::filesystem::path& path, const std::string& text) {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    // A temporary of a random name, made with O_EXCL (mkostemp): a link planted at a name we
    // would use cannot make us write through it, and rename() replaces `path` itself, never
    // what a link there points to.
    std::string tmp = path.string() + ".tmp.XXXXXX";
    const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd == -1) return "cannot create a temporary beside " + path.string() + ": " + std::strerror(errno);
    ::fchmod(fd, 0644);
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            return "cannot write " + tmp + ": " + why;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        ::unlink(tmp.c_str());
        return "cannot fsync " + tmp + ": " + why;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return "cannot rename " + tmp + " to " + path.string() + ": " + why;
    }
    return {};
}

StatusFile::StatusFile(std::filesystem::path path, std::function<void(const std::string&)> report)
    : path_(std::move(path)), shared_(std::make_shared<Shared>()) {
    shared_->report = std::move(report);
    thread_ = std::thread([path = path_, shared = shared_] {
        bool failing = false;
        std::unique_lock lock(shared->mutex);
        for (;;) {
            shared->wake.wait(lock, [&] { return shared->stop || shared->pending.has_value(); });
            if (!shared->pending) break;  // stopping with nothing left to write
            std::string text = std::move(*shared->pending);
            shared->pending.reset();
            shared->writing = true;
            lock.unlock();
            const std::string error = write_atomically(path, text);
            lock.lock();
            shared->writing = false;
            if (error.empty()) ++shared->written;
            if (!error.empty() && !failing && shared->report) shared->report("status file: " + error);
            if (error.empty() && failing && shared->report)
                shared->report("status file: " + path.string() + " written again");
            failing = !error.empty();
            shared->idle.notify_all();
        }
    });
}

StatusFile::~StatusFile() {
    {
        std::unique_lock lock(shared_->mutex);
        shared_->stop = true;
        shared_->report = nullptr;  // the caller's thread may be gone by the time an error comes
        shared_->wake.notify_all();
        // The last document gets a moment to reach the disk; a hung disk is not waited for.
        shared_->idle.wait_for(lock, std::chrono::seconds(2), [&] { return !shared_->pending && !shared_->writing; });
        if (shared_->pending || shared_->writing) {
            lock.unlock();
            thread_.detach();  // it keeps `shared_` alive
            return;
        }
    }
    thread_.join();
}

void StatusFile::put(std::string document) {
    std::lock_guard lock(shared_->mutex);
    shared_->pending = std::move(document);
    shared_->wake.notify_all();
}

std::uint64_t StatusFile::written() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->written;
}

}  // namespace mainstay::serve
