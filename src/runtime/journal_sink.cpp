#include "runtime/journal_sink.hpp"

#include <spdlog/common.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace mainstay::runtime {

JournalSink::JournalSink(std::string socket_path) : path_(std::move(socket_path)) {
    addr_.sun_family = AF_UNIX;
    if (path_.size() < sizeof addr_.sun_path) std::memcpy(addr_.sun_path, path_.c_str(), path_.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

JournalSink::~JournalSink() {
    if (fd_ >= 0) ::close(fd_);
}

void JournalSink::append_field(std::string& out, std::string_view key, std::string_view value) {
    out += key;
    if (value.find('\n') == std::string_view::npos) {
        out += '=';
        out += value;
    } else {
        out += '\n';
        std::uint64_t n = value.size();
        for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
        out += value;
    }
    out += '\n';
}

int JournalSink::priority(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
        case spdlog::level::debug:
            return LOG_DEBUG;
        case spdlog::level::info:
            return LOG_INFO;
        case spdlog::level::warn:
            return LOG_WARNING;
        case spdlog::level::err:
            return LOG_ERR;
        case spdlog::level::critical:
            return LOG_CRIT;
        default:
            return LOG_INFO;
    }
}

void JournalSink::sink_it_(const spdlog::details::log_msg& msg) {
    spdlog::memory_buf_t text;
    formatter_->format(msg, text);
    std::string datagram;
    datagram.reserve(text.size() + 64);
    append_field(datagram, "MESSAGE", std::string_view(text.data(), text.size()));
    append_field(datagram, "PRIORITY", std::to_string(priority(msg.level)));
    append_field(datagram, "SYSLOG_IDENTIFIER", std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    if (fd_ < 0 || addr_.sun_path[0] == '\0') throw spdlog::spdlog_ex("journal: no socket");
    if (::sendto(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr_),
                 sizeof addr_) < 0) {
        throw spdlog::spdlog_ex("journal: " + path_ + ": " + std::strerror(errno));
    }
}

}  // namespace mainstay::runtime
