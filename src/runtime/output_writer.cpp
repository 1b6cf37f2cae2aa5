#include "runtime/output_writer.hpp"

#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "runtime/fd_limits.hpp"
#include "runtime/log_capture.hpp"
#include "runtime/output_format.hpp"
#include "runtime/rotating_file.hpp"

namespace mainstay::runtime {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::size_t kConsoleChunk = 4096;    // POLLOUT on a pipe promises room for a page
constexpr std::size_t kFileBatch = 64 * 1024;  // bytes gathered per write(2) to a file

// A line waiting for the console, formatted.
// One entry's console text: one line, or a service's block of lines.
struct ConsoleLine {
    std::string text;
    std::string service;
    bool own;
    std::size_t cost;
    std::uint32_t lines;
};

// Calls `each` with every line of a service's entry (a block: log_capture.hpp); mainstay's own
// entry is one line, formatted already.
template <class Each>
void for_each_line_of(const OutputEntry& e, Each each) {
    if (e.own()) return each(std::string_view(e.text));
    for_each_line(e.text, each);
}

int millis_until(SteadyClock::time_point when) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when - SteadyClock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 1000));
}

}  // namespace

struct OutputWriter::State {
    State(OutputOptions o, std::shared_ptr<OutputQueue> q) : options(std::move(o)), queue(std::move(q)) {}

    const OutputOptions options;
    const std::shared_ptr<OutputQueue> queue;
    std::atomic<bool> stopping{false};
    SteadyClock::time_point stop_time;  // written before `stopping` is set
    std::mutex done_mutex;
    std::condition_variable done_cv;
    bool done{false};

    // Only the writer's thread touches the rest.
    std::unique_ptr<RotatingFile> own_file;
    // The services' open log files, at most kMaxOpenLogFiles (fd_limits.hpp): the least
    // recently used is closed for a newcomer and opened again (appending) when it has lines.
    struct OpenLog {
        std::unique_ptr<RotatingFile> file;
        std::uint64_t used{0};
    };
    std::map<std::string, OpenLog, std::less<>> service_files;
    std::uint64_t uses{0};
    std::deque<ConsoleLine> console;
    std::size_t console_offset{0};  // bytes of console.front() already written
    bool console_failing{false};
    RotatingFile* batch_file{nullptr};  // lines gathered for one write(2)
    std::string batch_service;          // whose ("" for mainstay's own log)
    std::string batch;
    std::string line;
    std::array<std::array<std::size_t, 2>, 2> releases{};  // [own][sink] costs done with
    SteadyClock::time_point next_summary{};

    void run();
    void handle(std::vector<OutputEntry>& entries, bool files_allowed);
    void to_file(const OutputEntry& e);
    RotatingFile* service_file(const std::string& service);
    void flush_batch();
    void to_console(OutputEntry& e);
    void write_console();
    void drop_console();
    void wait(int timeout_ms);
    void report(config::LogLevel level, std::string message);
    void summaries(bool console_too);
    void release(bool own, Sink sink, std::size_t cost) {
        releases[own ? 1 : 0][static_cast<std::size_t>(sink)] += cost;
    }
    void flush_releases();
};

void OutputWriter::State::report(config::LogLevel level, std::string message) {
    if (level < options.level) return;
    OutputEntry e;
    e.time = std::chrono::system_clock::now();
    e.level = level;
    e.text = std::move(message);
    e.console = true;
    e.file = options.own_file.has_value();
    queue->push(std::move(e));
}

void OutputWriter::State::handle(std::vector<OutputEntry>& entries, bool files_allowed) {
    for (OutputEntry& e : entries) {
        if (e.file) {
            if (files_allowed)
                to_file(e);
            else
                queue->count_drop(e.service, Sink::file, e.lines);
            release(e.own(), Sink::file, e.cost());
        }
        if (e.console) to_console(e);
    }
    flush_batch();
    flush_releases();
}

void OutputWriter::State::flush_releases() {
    for (bool own : {false, true}) {
        for (Sink sink : {Sink::console, Sink::file}) {
            std::size_t& cost = releases[own ? 1 : 0][static_cast<std::size_t>(sink)];
            if (cost != 0) queue->release(own, sink, cost);
            cost = 0;
        }
    }
}

void OutputWriter::State::to_file(const OutputEntry& e) {
    RotatingFile* file = nullptr;
    if (e.own()) {
        if (!options.own_file) return;
        if (!own_file)
            own_file = std::make_unique<RotatingFile>(*options.own_file, options.max_size, options.max_files);
        file = own_file.get();
    } else {
        if (!options.service_files || !options.own_file) return;
        file = service_file(e.service);
    }
    for_each_line_of(e, [&](std::string_view text) {
        line.clear();
        append_file(line, {e.time, e.level, e.service, e.label, text}, options.format);
        // One write(2) per run of lines to the same file, cut where a rotation falls between lines.
        if (file != batch_file || !file->fits(batch.size() + line.size()) || batch.size() >= kFileBatch) {
            flush_batch();
            batch_file = file;
            batch_service = e.own() ? std::string() : e.service;
        }
        batch += line;
    });
}

RotatingFile* OutputWriter::State::service_file(const std::string& service) {
    auto it = service_files.find(service);
    if (it == service_files.end()) {
        if (service_files.size() >= kMaxOpenLogFiles) {
            // The least recently used goes; a failing one only when all are (it keeps its
            // episode: reported once, not again at each reopening).
            auto oldest = service_files.end();
            for (auto at = service_files.begin(); at != service_files.end(); ++at) {
                const bool better = oldest == service_files.end() ||
                                    (oldest->second.file->failing() && !at->second.file->failing()) ||
                                    (oldest->second.file->failing() == at->second.file->failing() &&
                                     at->second.used < oldest->second.used);
                if (better) oldest = at;
            }
            if (oldest->second.file.get() == batch_file) flush_batch();
            if (oldest->second.file->failing()) queue->set_failing(oldest->second.file->path().string(), false);
            service_files.erase(oldest);
        }
        config::LogSpec where;
        where.file = options.own_file;
        auto f = std::make_unique<RotatingFile>(*config::service_log_file(where, service), options.max_size,
                                                options.max_files);
        it = service_files.emplace(service, OpenLog{std::move(f), 0}).first;
    }
    it->second.used = ++uses;
    return it->second.file.get();
}

void OutputWriter::State::flush_batch() {
    if (batch_file == nullptr || batch.empty()) return;
    RotatingFile& file = *batch_file;
    const bool was_failing = file.failing();
    const std::size_t written = file.write(batch);
    const auto lost =
        static_cast<std::uint64_t>(std::count(batch.begin() + static_cast<std::ptrdiff_t>(written), batch.end(), '\n'));
    // A failing file's drops are its episode's, reported once below, not in a summary each second.
    queue->count_drop(batch_service, Sink::file, lost, false);
    batch.clear();
    batch_file = nullptr;
    if (file.failing() && !was_failing) {
        queue->set_failing(file.path().string(), true);
        report(config::LogLevel::warn, "log file " + file.path().string() + ": cannot write: " +
                                           std::strerror(file.error()) + "; dropping its lines until it can");
    } else if (!file.failing() && was_failing) {
        queue->set_failing(file.path().string(), false);
        report(config::LogLevel::info, "log file " + file.path().string() + ": writing again");
    }
}

void OutputWriter::State::to_console(OutputEntry& e) {
    const std::size_t cost = e.cost();  // before the service's name is moved out
    ConsoleLine c{{}, std::move(e.service), e.own(), cost, e.lines};
    for_each_line_of(e, [&](std::string_view text) {
        append_console(c.text, {e.time, e.level, c.service, e.label, text}, options.format);
    });
    // JSON escapes can make a line grow: charge what it holds now, if that still fits.
    const std::size_t held = sizeof(ConsoleLine) + c.text.size() + c.service.size();
    if (held > c.cost) {
        if (!queue->recharge(c.own, Sink::console, c.cost, held)) {
            queue->count_drop(c.service, Sink::console, c.lines);
            return;
        }
        c.cost = held;
    }
    if (!c.own) return console.push_back(std::move(c));
    // mainstay's own lines go ahead of the services' (after the line being written, and after
    // the own lines already waiting): a flood never hides a state change or the shutdown.
    std::size_t at = std::min<std::size_t>(console_offset > 0 ? 1 : 0, console.size());
    while (at < console.size() && console[at].own) ++at;
    console.insert(console.begin() + static_cast<std::ptrdiff_t>(at), std::move(c));
}

void OutputWriter::State::drop_console() {
    for (const ConsoleLine& c : console) {
        queue->count_drop(c.service, Sink::console, c.lines, !console_failing);
        release(c.own, Sink::console, c.cost);
    }
    console.clear();
    console_offset = 0;
}

// Writes what the console takes now, never waiting: a page at a time while poll says it has room.
void OutputWriter::State::write_console() {
    while (!console.empty()) {
        pollfd p{options.console_fd, POLLOUT, 0};
        const int ready = ::poll(&p, 1, 0);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return;
        std::array<iovec, 32> iov{};
        std::size_t n = 0;
        std::size_t total = 0;
        for (std::size_t i = 0; i < console.size() && n < iov.size() && total < kConsoleChunk; ++i) {
            const std::size_t skip = i == 0 ? console_offset : 0;
            const std::size_t len = std::min(console[i].text.size() - skip, kConsoleChunk - total);
            iov[n++] = {console[i].text.data() + skip, len};
            total += len;
        }
        const ssize_t written = ::writev(options.console_fd, iov.data(), static_cast<int>(n));
        if (written < 0 && errno == EINTR) continue;
        if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (written < 0) {  // the reader went away (EPIPE) or stdout is closed
            const int error = errno;
            const bool first = !console_failing;
            drop_console();
            console_failing = true;
            if (first)
                report(config::LogLevel::warn, std::string("console: cannot write: ") + std::strerror(error) +
                                                   "; dropping its lines until it can");
            return;
        }
        if (console_failing) {
            console_failing = false;
            report(config::LogLevel::info, "console: writing again");
        }
        auto left = static_cast<std::size_t>(written);
        while (left > 0) {
            ConsoleLine& front = console.front();
            const std::size_t rest = front.text.size() - console_offset;
            if (left < rest) {
                console_offset += left;
                break;
            }
            left -= rest;
            release(front.own, Sink::console, front.cost);
            console.pop_front();
            console_offset = 0;
        }
    }
}

// Until the queue has something new, the console has room (when lines wait for it) or the timeout.
void OutputWriter::State::wait(int timeout_ms) {
    std::array<pollfd, 2> fds{pollfd{queue->wake_fd(), POLLIN, 0}, pollfd{options.console_fd, POLLOUT, 0}};
    const bool console_waits = !console.empty() && !console_failing;
    ::poll(fds.data(), console_waits ? 2 : 1, timeout_ms);
}

void OutputWriter::State::summaries(bool console_too) {
    for (const DropCount& d : queue->take_summaries()) {
        if (config::LogLevel::warn < options.level) continue;
        std::string text = d.service.empty() ? "dropped " + std::to_string(d.lines) + " of mainstay's own lines"
                                             : "dropped " + std::to_string(d.lines) + " lines of " + d.service;
        text += " (" + std::string(to_string(d.sink)) + ")";
        OutputEntry e;
        e.time = std::chrono::system_clock::now();
        e.level = config::LogLevel::warn;
        e.text = std::move(text);
        e.console = console_too;
        e.file = options.own_file.has_value();
        queue->push(std::move(e));
    }
}

void OutputWriter::State::run() {
    while (!stopping.load(std::memory_order_acquire)) {
        auto entries = queue->take();
        handle(entries, true);
        write_console();
        if (SteadyClock::now() >= next_summary) {
            summaries(true);
            next_summary = SteadyClock::now() + std::chrono::seconds(1);
        }
        if (entries.empty()) wait(1000);
    }
    // Stopping: the files get what is queued (until file_drain), the console until console_drain.
    const auto file_deadline = stop_time + options.file_drain;
    const auto console_deadline = stop_time + options.console_drain;
    for (;;) {
        auto entries = queue->take();
        handle(entries, SteadyClock::now() < file_deadline);
        write_console();
        if (entries.empty() && console.empty()) break;
        if (SteadyClock::now() >= console_deadline) {
            drop_console();
            flush_releases();
            if (entries.empty()) break;
            continue;
        }
        if (entries.empty()) wait(millis_until(console_deadline));
    }
    // What was dropped, in mainstay's own file: the console is past its time.
    summaries(false);
    auto last = queue->take();
    handle(last, SteadyClock::now() < file_deadline + std::chrono::seconds(1));
    std::lock_guard lock(done_mutex);
    done = true;
    done_cv.notify_all();
}

OutputWriter::OutputWriter(OutputOptions options, std::shared_ptr<OutputQueue> queue)
    : state_(std::make_shared<State>(std::move(options), std::move(queue))) {
    thread_ = std::thread([state = state_] { state->run(); });
}

OutputWriter::~OutputWriter() {
    stop();
}

void OutputWriter::stop() {
    if (!thread_.joinable()) return;
    state_->stop_time = SteadyClock::now();
    state_->stopping.store(true, std::memory_order_release);
    state_->queue->wake();
    // A write stuck on a hung disk is not waited for: the thread keeps its state alive.
    const auto limit = std::max(state_->options.console_drain, state_->options.file_drain) + std::chrono::seconds(2);
    bool done = false;
    {
        std::unique_lock lock(state_->done_mutex);
        done = state_->done_cv.wait_for(lock, limit, [&] { return state_->done; });
    }
    if (done)
        thread_.join();
    else
        thread_.detach();
}

}  // namespace mainstay::runtime
