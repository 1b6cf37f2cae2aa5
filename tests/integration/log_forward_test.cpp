// log.forward (SPEC §2): mainstay's own lines and its services' lines also reach syslog or the
// journal, through spdlog's sinks on a thread of their own, and a sink that stalls costs lines
// (counted), never the caller. With a sink of the test's own, then with syslog(3) on a real
// /dev/log socket where the machine has none of its own (skipped, saying so, where it has).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spdlog/sinks/base_sink.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "harness.hpp"
#include "runtime/journal_sink.hpp"
#include "runtime/logging.hpp"

using namespace mainstay::testing;
using namespace mainstay::runtime;
using mainstay::config::LogForward;
using mainstay::config::LogLevel;
using mainstay::config::LogSpec;
using namespace std::chrono_literals;

namespace {

// Keeps what reaches it: the logger's name (the journal's identifier), the level, the text. With
// `hold`, each line waits until release(): a syslog daemon that stopped reading.
class CollectingSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    struct Line {
        std::string logger;
        spdlog::level::level_enum level;
        std::string text;
    };
    std::vector<Line> lines() {
        std::lock_guard lock(lines_mutex_);
        return lines_;
    }
    void hold() {
        std::lock_guard lock(gate_mutex_);
        held_ = true;
    }
    void release() {
        {
            std::lock_guard lock(gate_mutex_);
            held_ = false;
        }
        gate_.notify_all();
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        {
            std::unique_lock lock(gate_mutex_);
            gate_.wait(lock, [&] { return !held_; });
        }
        spdlog::memory_buf_t text;
        formatter_->format(msg, text);
        std::lock_guard lock(lines_mutex_);  // (base_sink's own mutex_ is held around this call)
        lines_.push_back(
            {std::string(msg.logger_name.data(), msg.logger_name.size()), msg.level, fmt::to_string(text)});
    }
    void flush_() override {}

private:
    std::mutex lines_mutex_;
    std::mutex gate_mutex_;
    std::condition_variable gate_;
    bool held_{false};
    std::vector<Line> lines_;
};

int null_console() {
    return ::open("/dev/null", O_WRONLY | O_CLOEXEC);
}

}  // namespace

TEST_CASE("log.forward syslog: mainstay's lines with their levels and each service's line as NAME | line") {
    auto sink = std::make_shared<CollectingSink>();
    LogSpec spec;
    spec.forward = LogForward::syslog;
    const int console = null_console();
    {
        Logging logging(spec, console, kOutputLimits, sink);
        logging.log(LogLevel::warn, "db: recovering (exited with code 1)");
        logging.log(LogLevel::debug, "below the level: not forwarded");
        logging.service_line("web", "listening on :8080");
        logging.service_line("db", "ready", true, true, "db/stop");
        REQUIRE(eventually([&] { return sink->lines().size() == 3; }));
    }
    const auto lines = sink->lines();
    CHECK(lines[0].logger == "mainstay");
    CHECK(lines[0].level == spdlog::level::warn);
    CHECK(lines[0].text == "db: recovering (exited with code 1)");
    CHECK(lines[1].text == "web | listening on :8080");
    CHECK(lines[2].text == "db/stop | ready");
    ::close(console);
}

TEST_CASE("log.forward journald: each service's lines under its own name, the identifier the journal shows") {
    auto sink = std::make_shared<CollectingSink>();
    LogSpec spec;
    spec.forward = LogForward::journald;
    const int console = null_console();
    {
        Logging logging(spec, console, kOutputLimits, sink);
        logging.service_line("web", "listening on :8080");
        logging.log(LogLevel::info, "mode: full");
        REQUIRE(eventually([&] { return sink->lines().size() == 2; }));
        const auto lines = sink->lines();
        CHECK(((lines[0].logger == "web" && lines[0].text == "listening on :8080") ||
               (lines[1].logger == "web" && lines[1].text == "listening on :8080")));
    }
    ::close(console);
}

TEST_CASE("log.forward: a sink that stops taking lines costs lines, counted, and never the caller") {
    auto sink = std::make_shared<CollectingSink>();
    sink->hold();
    LogSpec spec;
    spec.forward = LogForward::syslog;
    const int console = null_console();
    {
        Logging logging(spec, console, kOutputLimits, sink);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 20000; ++i) logging.service_line("chatty", "line " + std::to_string(i));
        // 20000 lines into a queue of 8192 while the sink takes none: the caller was not held.
        CHECK(std::chrono::steady_clock::now() - t0 < 5s);
        CHECK(logging.forward_dropped() >= 20000 - 8192 - 1);
        sink->release();
    }
    ::close(console);
}

TEST_CASE("log.forward syslog: lines of mainstay and of a service reach a real syslog socket") {
    // glibc's syslog(3) writes datagrams to /dev/log: this test plays the syslog daemon there,
    // only where the machine has none and the test may create it.
    if (std::filesystem::exists("/dev/log") || ::geteuid() != 0) {
        MESSAGE("skipped: /dev/log exists (a syslog daemon or the journal owns it) or not root");
        return;
    }
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, "/dev/log");
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        MESSAGE("skipped: cannot bind /dev/log here");
        return;
    }
    struct Unlink {
        int fd;
        ~Unlink() {
            ::close(fd);
            ::unlink("/dev/log");
        }
    } cleanup{fd};
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    Mainstay m(main_yaml().replace(main_yaml().find("log: {"), 6, "log: {forward: syslog, "),
               {{"hello", "command: [sh, -c, 'echo hello from the service; exec sleep 60']\nready_after: 50ms\n"}});
    std::string seen;
    char buf[2048];
    while (seen.find("hello | hello from the service") == std::string::npos ||
           seen.find("mainstay starting 1 service (pid") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        seen.append(buf, static_cast<std::size_t>(n));
        seen += '\n';
    }
    INFO(seen);
    CHECK(seen.find("mainstay[") != std::string::npos);  // the identifier and pid
    CHECK(seen.find("hello | hello from the service") != std::string::npos);
    CHECK(seen.find("mainstay starting 1 service (pid") != std::string::npos);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("log.forward journald: one datagram per line in the journal's native protocol, each service under its name") {
    char dir_template[] = "/tmp/mainstay-journal-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    const std::string path = std::string(dir_template) + "/socket";
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    LogSpec spec;
    spec.forward = LogForward::journald;
    const int console = null_console();
    std::vector<std::string> got;
    {
        Logging logging(spec, console, kOutputLimits, std::make_shared<JournalSink>(path));
        logging.log(LogLevel::error, "db: failed (exited with code 78)");
        logging.log(LogLevel::info, "two\nlines");
        // A service's lines come as a block (one read's whole lines): one datagram per line.
        logging.service_line("web", "hello\nagain");
        char buf[4096];
        for (int i = 0; i < 4; ++i) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            REQUIRE(n > 0);
            got.emplace_back(buf, static_cast<std::size_t>(n));
        }
    }
    std::sort(got.begin(), got.end());  // the two loggers may send in either order
    // A value with a newline: the key, a newline, its length as 64 bits little-endian, the value.
    const std::string length{'\x09', '\0', '\0', '\0', '\0', '\0', '\0', '\0'};
    CHECK(got[0] == "MESSAGE\n" + length + "two\nlines\nPRIORITY=6\nSYSLOG_IDENTIFIER=mainstay\n");
    CHECK(got[1] == "MESSAGE=again\nPRIORITY=6\nSYSLOG_IDENTIFIER=web\n");
    CHECK(got[2] == "MESSAGE=db: failed (exited with code 78)\nPRIORITY=3\nSYSLOG_IDENTIFIER=mainstay\n");
    CHECK(got[3] == "MESSAGE=hello\nPRIORITY=6\nSYSLOG_IDENTIFIER=web\n");
    ::close(fd);
    ::close(console);
    std::filesystem::remove_all(dir_template);
}

TEST_CASE("log.forward journald without a journal: the lines are counted as not delivered, nothing else happens") {
    LogSpec spec;
    spec.forward = LogForward::journald;
    const int console = null_console();
    {
        Logging logging(spec, console, kOutputLimits, std::make_shared<JournalSink>("/nonexistent/journal/socket"));
        logging.log(LogLevel::info, "one");
        logging.service_line("web", "two");
        CHECK(eventually([&] { return logging.forward_dropped() == 2; }));
    }
    ::close(console);
}
