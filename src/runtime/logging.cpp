#include "runtime/logging.hpp"

#include <chrono>

#include "runtime/output_writer.hpp"

namespace mainstay::runtime {

Logging::Logging(const config::LogSpec& spec, int console_fd, OutputLimits limits)
    : level_(spec.level), files_(spec.file.has_value()), queue_(std::make_shared<OutputQueue>(limits)) {
    OutputOptions options;
    options.console_fd = console_fd;
    options.own_file = spec.file;
    options.service_files = spec.file.has_value();
    options.max_size = spec.max_size;
    options.max_files = spec.max_files;
    options.format = spec.format;
    options.level = spec.level;
    writer_ = std::make_unique<OutputWriter>(std::move(options), queue_);
}

Logging::~Logging() {
    stop();
}

void Logging::stop() {
    writer_->stop();
}

void Logging::log(config::LogLevel level, std::string_view message) {
    if (level < level_) return;
    OutputEntry e;
    e.time = std::chrono::system_clock::now();
    e.level = level;
    e.text = message;
    e.console = true;
    e.file = files_;
    queue_->push(std::move(e));
}

void Logging::service_line(std::string_view service, std::string_view line, bool console, bool file,
                           std::string_view label, std::optional<std::chrono::system_clock::time_point> time) {
    OutputEntry e;
    e.time = time ? *time : std::chrono::system_clock::now();
    e.service = service;
    if (label != service) e.label = label;
    e.text = line;
    e.console = console;
    e.file = file && files_;
    if (!e.console && !e.file) return;
    queue_->push(std::move(e));
}

}  // namespace mainstay::runtime
