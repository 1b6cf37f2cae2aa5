#include "runtime/log_capture.hpp"

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace mainstay::runtime {

constexpr std::size_t kMaxLine = 64 * 1024;

// Shared with the pending read's handler so a capture can be destroyed while a read is queued.
struct LogCapture::Stream : std::enable_shared_from_this<Stream> {
    Stream(boost::asio::io_context& io, int fd, bool is_stderr_, LineSink sink_)
        : pipe(io, fd), is_stderr(is_stderr_), sink(std::move(sink_)) {}

    boost::asio::posix::stream_descriptor pipe;
    bool is_stderr;
    LineSink sink;
    std::array<char, 64 * 1024> buffer{};
    std::string partial;
    bool done{false};

    void read() {
        pipe.async_read_some(boost::asio::buffer(buffer), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
            self->on_read(ec, n);
        });
    }

    void on_read(const boost::system::error_code& ec, std::size_t n) {
        if (ec == boost::asio::error::operation_aborted) return;  // the capture was closed
        std::string_view data(buffer.data(), n);
        while (!data.empty()) {
            auto nl = data.find('\n');
            if (nl == std::string_view::npos) {
                partial.append(data);
                data = {};
            } else {
                if (partial.empty()) {
                    sink(data.substr(0, nl), is_stderr);
                } else {
                    partial.append(data.substr(0, nl));
                    sink(partial, is_stderr);
                    partial.clear();
                }
                data.remove_prefix(nl + 1);
            }
            while (partial.size() >= kMaxLine) {
                sink(std::string_view(partial).substr(0, kMaxLine), is_stderr);
                partial.erase(0, kMaxLine);
            }
        }
        if (ec) {  // end of file or an error: the stream is over
            if (!partial.empty()) sink(partial, is_stderr);
            partial.clear();
            done = true;
            boost::system::error_code ignored;
            pipe.close(ignored);
            return;
        }
        read();
    }
};

LogCapture::LogCapture(boost::asio::io_context& io, int stdout_fd, int stderr_fd, LineSink sink) {
    if (stdout_fd != -1) {
        out_ = std::make_shared<Stream>(io, stdout_fd, false, sink);
        out_->read();
    }
    if (stderr_fd != -1) {
        err_ = std::make_shared<Stream>(io, stderr_fd, true, sink);
        err_->read();
    }
}

LogCapture::~LogCapture() {
    boost::system::error_code ignored;
    if (out_) out_->pipe.close(ignored);
    if (err_) err_->pipe.close(ignored);
}

bool LogCapture::finished() const { return (!out_ || out_->done) && (!err_ || err_->done); }

}  // namespace mainstay::runtime
