// mainstay's own log and the console, through spdlog, set up so they cannot stall supervision.
//
// Two asynchronous loggers share one background thread: `mainstay` (its own messages: console
// and, when `log.file` is set, a rotating file) and `output` (the services' lines on the console
// as `name | line`). Their queue overruns the oldest message when it is full, and the console
// waits at most 100 ms for a stdout nobody reads before it drops lines until stdout drains:
// supervision never waits for a terminal, and neither does mainstay's exit.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/schema.hpp"

namespace spdlog {
class logger;
}

namespace mainstay::runtime {

class Logging {
public:
    explicit Logging(const config::LogSpec& spec);
    ~Logging();  // flushes and stops the background thread

    void log(config::LogLevel level, std::string_view message);
    void service_line(std::string_view service, std::string_view line);
    // Messages the queue dropped because the console could not keep up.
    std::size_t dropped() const;

private:
    config::LogFormat format_;
    std::shared_ptr<spdlog::logger> main_;
    std::shared_ptr<spdlog::logger> output_;
};

// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

}  // namespace mainstay::runtime
