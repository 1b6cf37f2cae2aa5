#include "runtime/log_capture.hpp"

#include <array>

#include <boost/asio/posix/stream_descriptor.hpp>

namespace mainstay::runtime {
namespace {

std::size_t live_streams = 0;  // event-loop thread only

constexpr std::size_t kMaxLine = 64 * 1024;
// What finish() reads at most before closing: a daemon that keeps writing cannot hold it.
constexpr std::size_t kFinishBudget = 1024 * 1024;

// One read buffer for every capture: reads happen on the event-loop thread only, and the sink
// copies what it keeps before the next read.
std::array<char, 64 * 1024>& shared_buffer() {
    static std::array<char, 64 * 1024> buffer;
    return buffer;
}

}  // namespace

// Shared with the pending wait's handler so a capture can be destroyed while a wait is queued.
struct LogCapture::Stream : std::enable_shared_from_this<Stream> {
    Stream(boost::asio::io_context& io, int fd, LineSink sink_) : pipe(io, fd), sink(std::move(sink_)) {
        boost::system::error_code ignored;
        pipe.non_blocking(true, ignored);
        ++live_streams;
    }
    ~Stream() { --live_streams; }

    boost::asio::posix::stream_descriptor pipe;
    LineSink sink;
    std::string partial;
    bool done{false};

    void wait() {
        pipe.async_wait(boost::asio::posix::descriptor_base::wait_read,
                        [self = shared_from_this()](const boost::system::error_code& ec) {
                            if (ec == boost::asio::error::operation_aborted || self->done) return;
                            if (self->drain(SIZE_MAX)) self->wait();
                        });
    }

    // Reads until the pipe is empty (true: keep watching), or at end of file or an error, or
    // when `budget` bytes were read (false: the stream is over, closed).
    bool drain(std::size_t budget) {
        auto& buffer = shared_buffer();
        for (;;) {
            boost::system::error_code ec;
            const std::size_t n = pipe.read_some(boost::asio::buffer(buffer), ec);
            if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) return true;
            if (ec == boost::asio::error::interrupted) continue;
            split(std::string_view(buffer.data(), n));
            if (ec || n == 0) break;
            if (n >= budget) break;
            budget -= n;
        }
        close();
        return false;
    }

    void split(std::string_view data) {
        while (!data.empty()) {
            auto nl = data.find('\n');
            if (nl == std::string_view::npos) {
                partial.append(data);
                data = {};
            } else {
                if (partial.empty()) {
                    sink(data.substr(0, nl));
                } else {
                    partial.append(data.substr(0, nl));
                    sink(partial);
                    partial.clear();
                }
                data.remove_prefix(nl + 1);
            }
            while (partial.size() >= kMaxLine) {
                sink(std::string_view(partial).substr(0, kMaxLine));
                partial.erase(0, kMaxLine);
            }
        }
    }

    void close() {
        if (done) return;
        if (!partial.empty()) sink(partial);
        partial.clear();
        partial.shrink_to_fit();
        done = true;
        boost::system::error_code ignored;
        pipe.close(ignored);
    }
};

LogCapture::LogCapture(boost::asio::io_context& io, int fd, LineSink sink) {
    if (fd == -1) return;
    stream_ = std::make_shared<Stream>(io, fd, std::move(sink));
    stream_->wait();
}

LogCapture::~LogCapture() {
    if (!stream_ || stream_->done) return;
    stream_->done = true;
    boost::system::error_code ignored;
    stream_->pipe.close(ignored);
}

void LogCapture::finish() {
    if (stream_ && !stream_->done) stream_->drain(kFinishBudget);
    if (stream_) stream_->close();
}

std::size_t LogCapture::live() { return live_streams; }

bool LogCapture::finished() const { return !stream_ || stream_->done; }

}  // namespace mainstay::runtime
