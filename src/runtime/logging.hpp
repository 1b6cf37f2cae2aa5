// mainstay's output: its own log lines and its services' stdout/stderr lines, to the console
// and to the log files, without ever stalling supervision.
//
// `log` and `service_line` only queue the line (OutputQueue, bounded in bytes; a line that
// does not fit is dropped and counted) for the one writer thread (OutputWriter), which owns
// every write: the console, mainstay's own log file (`log.file`) and the per-service files
// `<dir of log.file>/<name>.log`. The destructor gives the console about a second and the
// files a few seconds to take what is queued.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

    void log(config::LogLevel level, std::string_view message);
    // A reload's new log.level.
    void set_level(config::LogLevel level) { level_ = level; }
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
    // Log files that cannot be written right now (disk full, directory gone).
    std::vector<std::string> failing_files() const { return queue_->failing_files(); }

private:
    std::atomic<config::LogLevel> level_;
    const bool files_;
    std::shared_ptr<OutputQueue> queue_;
    std::unique_ptr<OutputWriter> writer_;
};

}  // namespace mainstay::runtime
