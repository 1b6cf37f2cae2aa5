#include "runtime/logging.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/syslog_sink.h>
#include <syslog.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "runtime/journal_sink.hpp"
#include "runtime/log_capture.hpp"
#include "runtime/output_format.hpp"
#include "runtime/output_writer.hpp"

namespace mainstay::runtime {

namespace {

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
    switch (level) {
        case config::LogLevel::trace:
            return spdlog::level::trace;
        case config::LogLevel::debug:
            return spdlog::level::debug;
        case config::LogLevel::info:
            return spdlog::level::info;
        case config::LogLevel::warn:
            return spdlog::level::warn;
        case config::LogLevel::error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

config::LogLevel from_spdlog(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
            return config::LogLevel::trace;
        case spdlog::level::debug:
            return config::LogLevel::debug;
        case spdlog::level::info:
            return config::LogLevel::info;
        case spdlog::level::warn:
            return config::LogLevel::warn;
        default:
            return config::LogLevel::error;
    }
}

// log.format json for mainstay's own lines: {"time","level","message"}, as a spdlog formatter.
class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto level = spdlog::level::to_string_view(msg.level);
        const std::string line = own_json(msg.time, std::string_view(level.data(), level.size()),
                                          std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(line.data(), line.data() + line.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

// `2026-11-28T06:53:06.123Z info: message` in UTC (the newline is the writer's).
std::unique_ptr<spdlog::formatter> formatter_for(config::LogFormat format) {
    if (format == config::LogFormat::json) return std::make_unique<JsonFormatter>();
    return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l: %v", spdlog::pattern_time_type::utc,
                                                       std::string());
}

// The project's bounded writer as a spdlog sink: a formatted line goes into the OutputQueue (its
// own budget, apart from the services' lines) and nothing else happens on the caller's thread.
class QueueSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    QueueSink(std::shared_ptr<OutputQueue> queue, bool files) : queue_(std::move(queue)), files_(files) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t formatted;
        formatter_->format(msg, formatted);
        OutputEntry e;
        e.time = msg.time;
        e.level = from_spdlog(msg.level);
        e.text.assign(formatted.data(), formatted.size());
        e.console = true;
        e.file = files_;
        queue_->push(std::move(e));
    }
    void flush_() override {}  // the writer thread writes as soon as it can

private:
    std::shared_ptr<OutputQueue> queue_;
    const bool files_;
};

constexpr std::size_t kForwardQueueLines = 8192;

std::shared_ptr<spdlog::sinks::sink> forward_sink_for(config::LogForward forward) {
    switch (forward) {
        case config::LogForward::none:
            return nullptr;
        case config::LogForward::syslog:
            // LOG_NDELAY: the socket is opened now, not at the first line on the forward thread.
            return std::make_shared<spdlog::sinks::syslog_sink_mt>("mainstay", LOG_PID | LOG_NDELAY, LOG_DAEMON, false);
        case config::LogForward::journald:
            return std::make_shared<JournalSink>();
    }
    return nullptr;
}

}  // namespace

Logging::Logging(const config::LogSpec& spec, int console_fd, OutputLimits limits)
    : Logging(spec, console_fd, limits, forward_sink_for(spec.forward)) {}

Logging::Logging(const config::LogSpec& spec, int console_fd, OutputLimits limits,
                 std::shared_ptr<spdlog::sinks::sink> forward_sink)
    : files_(spec.file.has_value()), forward_(spec.forward), queue_(std::make_shared<OutputQueue>(limits)) {
    OutputOptions options;
    options.console_fd = console_fd;
    options.own_file = spec.file;
    options.service_files = spec.file.has_value();
    options.max_size = spec.max_size;
    options.max_files = spec.max_files;
    options.format = spec.format;
    options.level = spec.level;
    writer_ = std::make_unique<OutputWriter>(std::move(options), queue_);

    auto sink = std::make_shared<QueueSink>(queue_, files_);
    sink->set_formatter(formatter_for(spec.format));
    own_ = std::make_shared<spdlog::logger>("mainstay", std::move(sink));
    own_->set_level(to_spdlog(spec.level));
    if (spec.forward != config::LogForward::none && forward_sink) {
        forward_sink->set_formatter(
            std::make_unique<spdlog::pattern_formatter>("%v", spdlog::pattern_time_type::utc, std::string()));
        forward_sink_ = std::move(forward_sink);
        forward_pool_ = std::make_shared<spdlog::details::thread_pool>(kForwardQueueLines, 1);
        forward_own_ = forward_for("mainstay");
    }
}

Logging::~Logging() {
    stop();
}

void Logging::stop() {
    writer_->stop();
    // The forward thread gets what is queued, then ends (the pool's destructor joins it).
    forward_services_.clear();
    forward_own_.reset();
    forward_pool_.reset();
}

void Logging::set_level(config::LogLevel level) {
    own_->set_level(to_spdlog(level));
}

std::shared_ptr<spdlog::logger> Logging::forward_for(std::string_view service) {
    auto it = forward_services_.find(service);
    if (it != forward_services_.end()) return it->second;
    auto logger = std::make_shared<spdlog::async_logger>(std::string(service), forward_sink_, forward_pool_,
                                                         spdlog::async_overflow_policy::overrun_oldest);
    logger->set_level(spdlog::level::trace);  // the level was decided before
    // A sink that fails (no journal, no syslog socket) costs the line, counted; spdlog's default
    // handler would print to stderr from the forward thread.
    logger->set_error_handler([this](const std::string&) { ++forward_failed_; });
    return forward_services_.emplace(std::string(service), std::move(logger)).first->second;
}

std::uint64_t Logging::forward_dropped() const {
    return (forward_pool_ ? forward_pool_->overrun_counter() : 0) + forward_failed_.load();
}

void Logging::log(config::LogLevel level, std::string_view message) {
    const auto lvl = to_spdlog(level);
    if (!own_->should_log(lvl)) return;  // the one level: own_'s (the forward loggers pass all)
    own_->log(lvl, spdlog::string_view_t(message.data(), message.size()));
    if (forward_own_) forward_own_->log(lvl, spdlog::string_view_t(message.data(), message.size()));
}

void Logging::service_line(std::string_view service, std::string_view line, bool console, bool file,
                           std::string_view label, std::optional<std::chrono::system_clock::time_point> time) {
    if (forward_pool_) {
        // On the journal, its name is the identifier; syslog has mainstay's, so the line says whose.
        for_each_line(line, [&](std::string_view one) {
            if (forward_ == config::LogForward::journald) {
                forward_for(service)->log(spdlog::level::info, spdlog::string_view_t(one.data(), one.size()));
            } else {
                const std::string said = std::string(label.empty() ? service : label) + " | " + std::string(one);
                forward_own_->log(spdlog::level::info, spdlog::string_view_t(said));
            }
        });
    }
    OutputEntry e;
    e.time = time ? *time : std::chrono::system_clock::now();
    e.service = service;
    if (label != service) e.label = label;
    e.text = line;
    e.lines = 1;
    for (const char *at = line.data(), *end = at + line.size();
         (at = static_cast<const char*>(std::memchr(at, '\n', static_cast<std::size_t>(end - at)))) != nullptr; ++at) {
        ++e.lines;
    }
    e.console = console;
    e.file = file && files_;
    if (!e.console && !e.file) return;
    queue_->push(std::move(e));
}

}  // namespace mainstay::runtime
