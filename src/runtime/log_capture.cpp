#include "runtime/log_capture.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdint>
#include <unordered_map>

namespace mainstay::runtime {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::size_t kTurnBudget = 256 * 1024;     // per pipe, each time the set is readable
constexpr std::size_t kFinishBudget = 1024 * 1024;  // what finish() reads at most

std::size_t live_captures = 0;  // event-loop threads only

// One read buffer for every capture: reads happen on the event-loop thread only, and the sink
// copies what it keeps before the next read.
std::array<char, 64 * 1024>& shared_buffer() {
    static std::array<char, 64 * 1024> buffer;
    return buffer;
}

}  // namespace

struct LogCapture::Stream {
    int fd;
    LineSink sink;
    std::string partial;
    bool done{false};
    std::uint64_t id{0};
    Delivery delivery{Delivery::lines};

    // Reads up to `budget` bytes. False once the stream is over (end of file or an error).
    bool read(std::size_t budget) {
        auto& buffer = shared_buffer();
        while (budget > 0) {
            const ssize_t n = ::read(fd, buffer.data(), std::min(buffer.size(), budget));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
            if (n <= 0) return false;
            split(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
            budget -= static_cast<std::size_t>(n);
        }
        return true;
    }

    void split(std::string_view data) {
        if (delivery == Delivery::blocks) {
            // The line begun before, completed; then every whole line of this read at once.
            const auto last = data.rfind('\n');
            if (last != std::string_view::npos) {
                auto first = data.find('\n');
                if (!partial.empty()) {
                    partial.append(data.substr(0, first));
                    sink(partial);
                    partial.clear();
                    data.remove_prefix(first + 1);
                } else if (first == 0) {
                    sink(std::string_view());  // an empty line
                    data.remove_prefix(1);
                }
                const auto end = data.rfind('\n');
                if (end != std::string_view::npos) {
                    sink(data.substr(0, end));
                    data.remove_prefix(end + 1);
                }
            }
        }
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
};

namespace {

// The epoll set of one io_context's captures, watched through one Asio descriptor.
class CaptureSet : public asio::execution_context::service {
public:
    static inline asio::execution_context::id id;

    explicit CaptureSet(asio::execution_context& context)
        : service(context),
          watch_(static_cast<asio::io_context&>(context)),
          pause_(static_cast<asio::io_context&>(context)) {
        epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_ == -1) return;
        boost::system::error_code ec;
        watch_.assign(epoll_, ec);
        if (ec) {
            ::close(epoll_);
            epoll_ = -1;
        }
    }

    void set_hold(std::function<bool()> hold) { hold_ = std::move(hold); }

    void shutdown() override {
        pause_.cancel();
        boost::system::error_code ignored;
        watch_.close(ignored);  // closes epoll_
        epoll_ = -1;
        streams_.clear();
    }

    // False when the pipe cannot be watched (then the caller closes it).
    bool add(LogCapture::Stream* s) {
        if (epoll_ == -1) return false;
        s->id = ++next_id_;
        epoll_event ev{};
        ev.events = EPOLLIN;  // level-triggered: what a turn leaves unread is reported again
        ev.data.u64 = s->id;
        if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, s->fd, &ev) != 0) return false;
        streams_[s->id] = s;
        if (!armed_) arm();
        return true;
    }

    void remove(LogCapture::Stream* s) {
        if (streams_.erase(s->id) != 0 && epoll_ != -1) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, s->fd, nullptr);
    }

private:
    void arm() {
        armed_ = true;
        watch_.async_wait(asio::posix::descriptor_base::wait_read, [this](const boost::system::error_code& ec) {
            armed_ = false;
            if (ec) return;  // closed: the loop is ending
            turn();
            next();
        });
    }
    // After a turn or a pause: watch the pipes again, or, while the writer is behind, pause.
    void next() {
        if (streams_.empty() || epoll_ == -1) return;
        if (hold_ && hold_()) return wait_then_arm();
        arm();
    }
    // The writer is behind: look again in a moment, reading nothing meanwhile.
    void wait_then_arm() {
        armed_ = true;
        pause_.expires_after(std::chrono::milliseconds(2));
        pause_.async_wait([this](const boost::system::error_code& ec) {
            armed_ = false;
            if (!ec) next();
        });
    }

    // Reads every readable pipe once. A stream may be finished or destroyed by a sink while
    // the events are handled: each is looked up by id, so a stale event finds nothing.
    void turn() {
        std::array<epoll_event, 64> events;
        const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 0);
        for (int i = 0; i < n; ++i) {
            auto it = streams_.find(events[static_cast<std::size_t>(i)].data.u64);
            if (it == streams_.end()) continue;
            LogCapture::Stream* s = it->second;
            if (!s->read(kTurnBudget)) close(s);
        }
    }

public:
    // End of the stream: the last partial line, then the pipe is closed and forgotten.
    void close(LogCapture::Stream* s) {
        if (s->done) return;
        s->done = true;
        remove(s);
        if (!s->partial.empty()) s->sink(s->partial);
        s->partial.clear();
        s->partial.shrink_to_fit();
        ::close(s->fd);
        s->fd = -1;
    }

private:
    asio::posix::stream_descriptor watch_;
    asio::steady_timer pause_;
    std::function<bool()> hold_;
    int epoll_{-1};
    bool armed_{false};
    std::uint64_t next_id_{0};
    std::unordered_map<std::uint64_t, LogCapture::Stream*> streams_;
};

}  // namespace

LogCapture::LogCapture(asio::io_context& io, int fd, LineSink sink, Delivery delivery) {
    if (fd == -1) return;
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags != -1) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);  // a read never waits
    stream_ = std::make_unique<Stream>(Stream{fd, std::move(sink), {}, false, 0, delivery});
    ++live_captures;
    auto& set = asio::use_service<CaptureSet>(io);
    set_ = &set;
    if (!set.add(stream_.get())) set.close(stream_.get());
}

LogCapture::~LogCapture() {
    if (!stream_) return;
    if (!stream_->done) {
        static_cast<CaptureSet*>(set_)->remove(stream_.get());
        ::close(stream_->fd);
    }
    --live_captures;
}

void LogCapture::finish() {
    if (!stream_ || stream_->done) return;
    stream_->read(kFinishBudget);
    static_cast<CaptureSet*>(set_)->close(stream_.get());
}

bool LogCapture::finished() const {
    return !stream_ || stream_->done;
}

std::size_t LogCapture::live() {
    return live_captures;
}

void LogCapture::hold_reading_while(asio::io_context& io, std::function<bool()> hold) {
    asio::use_service<CaptureSet>(io).set_hold(std::move(hold));
}

}  // namespace mainstay::runtime
