// The one thread that writes output: the console (stdout), mainstay's own log file and the
// per-service rotating files `<dir of log.file>/<name>.log`. The event loop only queues lines
// (OutputQueue); nothing it does waits for a terminal or a disk.
//
// The console is written only when poll(2) says it takes a write (at most a page at a time),
// so a stdout nobody reads never holds the thread: its lines wait within the console budget,
// then are dropped and counted until it drains. Files are written with write(2) as soon as
// their lines arrive (batched per file). A file that cannot be written, or a console whose
// reader went away, is reported once when it starts failing and once when it works again.
// When a sink's pressure ends, one summary line tells how many lines it dropped.
//
// stop(): the files get what is queued, for at most `file_drain`; the console gets at most
// `console_drain`; whatever is left is dropped and counted. A thread stuck in a write to a hung
// disk is left behind rather than waited for.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "config/schema.hpp"
#include "runtime/output_queue.hpp"

namespace mainstay::runtime {

struct OutputOptions {
    int console_fd{1};
    std::optional<std::filesystem::path> own_file;  // mainstay's log
    bool service_files{false};  // each service's lines also to config::service_log_file (needs own_file)
    std::uint64_t max_size{10 * 1024 * 1024};
    std::uint32_t max_files{5};
    config::LogFormat format{config::LogFormat::text};
    config::LogLevel level{config::LogLevel::info};  // of the writer's own reports
    std::chrono::milliseconds console_drain{1000};
    std::chrono::milliseconds file_drain{3000};
};

class OutputWriter {
public:
    OutputWriter(OutputOptions options, std::shared_ptr<OutputQueue> queue);
    ~OutputWriter();  // stop()
    OutputWriter(const OutputWriter&) = delete;
    OutputWriter& operator=(const OutputWriter&) = delete;

    void stop();

private:
    struct State;
    std::shared_ptr<State> state_;
    std::thread thread_;
};

}  // namespace mainstay::runtime
