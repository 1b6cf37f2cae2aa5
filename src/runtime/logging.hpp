// mainstay's output: its own log lines and its services' stdout/stderr lines, to the console
// and to the log files, without ever stalling supervision.
//
// mainstay's own lines go through spdlog: a logger "mainstay" with spdlog's levels, its
// pattern formatter (`2026-11-28T06:53:06.123Z info: message`, UTC; a formatter of ours for
// log.format json), and as its sink the project's bounded writer (QueueSink, logging.cpp).
// `service_line` queues a service's line for the same writer directly (a line needs no level or
// formatting there, and 1000 services need no 1000 loggers). Either way the line only goes into
// the OutputQueue (bounded in bytes; a line that does not fit is dropped and counted) for the one
// writer thread (OutputWriter), which owns every write: the console, mainstay's own log file
// (`log.file`) and the per-service files `<dir of log.file>/<name>.log`. The destructor gives
// the console about a second and the files a few seconds to take what is queued.
//
// log.forward: syslog | journald sends both also to spdlog's syslog sink or to the journal (a
// spdlog sink of ours, runtime/journal_sink.hpp, without libsystemd), through
// spdlog async loggers on a thread of their own whose queue (8192 lines) overruns its oldest
// line rather than block: a stalled syslog daemon or journal costs lines (counted), never the
// loop. On the journal each service's lines carry its name as SYSLOG_IDENTIFIER; on syslog
// they read `NAME | line` under the identifier mainstay.
#pragma once

#include <spdlog/fwd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog::details {
class thread_pool;
}

#include "config/schema.hpp"
#include "runtime/output_queue.hpp"

namespace mainstay::runtime {

class OutputWriter;

class Logging {
public:
    explicit Logging(const config::LogSpec& spec, int console_fd = STDOUT_FILENO, OutputLimits limits = kOutputLimits);
    ~Logging();  // stop()
    Logging(const Logging&) = delete;
    Logging& operator=(const Logging&) = delete;

    // `forward_sink` replaces the sink log.forward names (a test's own sink); it is used only
    // when log.forward is not none.
    Logging(const config::LogSpec& spec, int console_fd, OutputLimits limits,
            std::shared_ptr<spdlog::sinks::sink> forward_sink);

    void log(config::LogLevel level, std::string_view message);
    // A reload's new log.level.
    void set_level(config::LogLevel level);
    // One line of `service`'s output (no newline), to the console as `label | line` (`label`
    // defaults to the service's name) and/or to the service's own file when log.file is set.
    // `time`: when it was read (default: now).
    void service_line(std::string_view service, std::string_view line, bool console = true, bool file = true,
                      std::string_view label = {},
                      std::optional<std::chrono::system_clock::time_point> time = std::nullopt);
    // Drains what is queued within the writer's deadlines and ends its thread.
    void stop();

    // Lines dropped rather than stalling, per service ("" = mainstay's own) and sink.
    std::uint64_t dropped(std::string_view service, Sink sink) const { return queue_->dropped(service, sink); }
    std::uint64_t dropped_own(Sink sink) const { return queue_->dropped_own(sink); }
    std::vector<DropCount> drops() const { return queue_->drops(); }
    // Services' lines wait for their files: reading their pipes should pause (OutputQueue::file_backlog).
    bool file_backlog() const { return queue_->file_backlog(); }
    // Log files that cannot be written right now (disk full, directory gone).
    std::vector<std::string> failing_files() const { return queue_->failing_files(); }
    // Lines log.forward did not deliver: dropped rather than waited for (its queue was full), or
    // refused by the sink (no journal, no syslog socket).
    std::uint64_t forward_dropped() const;

private:
    std::shared_ptr<spdlog::logger> forward_for(std::string_view service);

    const bool files_;
    const config::LogForward forward_;
    std::shared_ptr<OutputQueue> queue_;
    std::unique_ptr<OutputWriter> writer_;
    std::shared_ptr<spdlog::logger> own_;  // "mainstay": the writer's sink, and the forward sink
    // log.forward: the thread and queue of the async loggers, their sink, and one logger per
    // service that printed (named after it: the journal's SYSLOG_IDENTIFIER).
    std::shared_ptr<spdlog::details::thread_pool> forward_pool_;
    std::shared_ptr<spdlog::sinks::sink> forward_sink_;
    std::shared_ptr<spdlog::logger> forward_own_;
    std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> forward_services_;
    std::atomic<std::uint64_t> forward_failed_{0};
};

}  // namespace mainstay::runtime
