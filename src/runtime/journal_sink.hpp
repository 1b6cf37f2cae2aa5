// A spdlog sink for the systemd journal that speaks the journal's native protocol itself: one
// datagram per line to /run/systemd/journal/socket, with MESSAGE, PRIORITY and
// SYSLOG_IDENTIFIER (the logger's name: a service's lines carry the service's). spdlog's own
// systemd_sink does the same through libsystemd's sd_journal_send(); linking libsystemd (and the
// six compression and crypto libraries it loads) cost every mainstay 0.8 MB of RSS, journal or
// not, for three fields. The socket is non-blocking: a journal that does not keep up costs the
// line (spdlog's error handler counts it), never the thread that logs.
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <sys/un.h>

#include <mutex>
#include <string>

namespace mainstay::runtime {

class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit JournalSink(std::string socket_path = "/run/systemd/journal/socket");
    ~JournalSink() override;
    JournalSink(const JournalSink&) = delete;
    JournalSink& operator=(const JournalSink&) = delete;

    // One field as the protocol has it: `KEY=value\n`, or for a value with a newline
    // `KEY\n<64-bit little-endian length>value\n`.
    static void append_field(std::string& out, std::string_view key, std::string_view value);
    // syslog(3) priorities, as the journal reads PRIORITY.
    static int priority(spdlog::level::level_enum level);

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override {}

private:
    std::string path_;
    sockaddr_un addr_{};  // path_ as an address, made once (sun_path empty: too long)
    int fd_{-1};
};

}  // namespace mainstay::runtime
