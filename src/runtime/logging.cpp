#include "runtime/logging.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>

#include <cstdio>
#include <spdlog/async.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace mainstay::runtime {
namespace {

// The console: stdout, written so that a reader who stops reading cannot hold the log thread
// (and, at exit, mainstay) forever. Each piece waits at most 100 ms for room in the pipe; after
// one such wait the console counts as stuck, and lines are dropped (and counted) without
// waiting until stdout takes a write again.
class ConsoleSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    std::uint64_t dropped() const { return dropped_; }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t text;
        formatter_->format(msg, text);
        std::string_view rest(text.data(), text.size());
        while (!rest.empty()) {
            pollfd p{STDOUT_FILENO, POLLOUT, 0};
            int ready = ::poll(&p, 1, stuck_ ? 0 : 100);
            if (ready <= 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
                stuck_ = true;
                ++dropped_;
                return;
            }
            // At most a page at a time: POLLOUT promises room for that much, so this cannot block.
            ssize_t n = ::write(STDOUT_FILENO, rest.data(), std::min<std::size_t>(rest.size(), 4096));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                stuck_ = true;
                ++dropped_;
                return;
            }
            stuck_ = false;
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    void flush_() override {}

private:
    bool stuck_{false};
    std::uint64_t dropped_{0};
};

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
    switch (level) {
        case config::LogLevel::trace: return spdlog::level::trace;
        case config::LogLevel::debug: return spdlog::level::debug;
        case config::LogLevel::info: return spdlog::level::info;
        case config::LogLevel::warn: return spdlog::level::warn;
        case config::LogLevel::error: return spdlog::level::err;
    }
    return spdlog::level::info;
}

}  // namespace

std::string json_quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

Logging::Logging(const config::LogSpec& spec) : format_(spec.format) {
    spdlog::init_thread_pool(8192, 1);
    auto pool = spdlog::thread_pool();
    // One console sink each: a sink has one pattern, and the two loggers format differently.
    std::vector<spdlog::sink_ptr> main_sinks{std::make_shared<ConsoleSink>()};
    if (spec.file) {
        spdlog::file_event_handlers handlers;
        // spdlog opens without O_CLOEXEC: children must not inherit the log file.
        handlers.after_open = [](const spdlog::filename_t&, std::FILE* f) { ::fcntl(fileno(f), F_SETFD, FD_CLOEXEC); };
        try {
            main_sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
                spec.file->string(), spec.max_size, spec.max_files, false, handlers));
        } catch (const spdlog::spdlog_ex& e) {
            std::fprintf(stderr, "mainstay: warning: cannot open log file %s: %s\n", spec.file->c_str(), e.what());
        }
    }
    main_ = std::make_shared<spdlog::async_logger>("mainstay", main_sinks.begin(), main_sinks.end(), pool,
                                                   spdlog::async_overflow_policy::overrun_oldest);
    output_ = std::make_shared<spdlog::async_logger>("output", std::make_shared<ConsoleSink>(), pool,
                                                     spdlog::async_overflow_policy::overrun_oldest);
    if (format_ == config::LogFormat::json) {
        main_->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":%v})", spdlog::pattern_time_type::utc);
        output_->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ",%v})", spdlog::pattern_time_type::utc);
    } else {
        main_->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l: %v", spdlog::pattern_time_type::utc);
        output_->set_pattern("%v");
    }
    main_->set_level(to_spdlog(spec.level));
    main_->flush_on(spdlog::level::warn);
    output_->set_level(spdlog::level::info);
}

Logging::~Logging() {
    main_->flush();
    output_->flush();
    main_.reset();
    output_.reset();
    spdlog::shutdown();
}

void Logging::log(config::LogLevel level, std::string_view message) {
    if (format_ == config::LogFormat::json) main_->log(to_spdlog(level), "{}", json_quote(message));
    else main_->log(to_spdlog(level), "{}", message);
}

void Logging::service_line(std::string_view service, std::string_view line) {
    if (format_ == config::LogFormat::json) {
        output_->info("\"service\":{},\"line\":{}", json_quote(service), json_quote(line));
    } else {
        output_->info("{} | {}", service, line);
    }
}

std::size_t Logging::dropped() const { return spdlog::thread_pool()->overrun_counter(); }

}  // namespace mainstay::runtime
