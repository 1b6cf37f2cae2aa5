// Logging, OutputQueue and the output writer on real pipes and files (no processes): budgets,
// drop counters, summaries, failing files, time stamps, JSON, the deadlines of stop().
#include "runtime/output_writer.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "harness.hpp"
#include "runtime/logging.hpp"
#include "runtime/output_queue.hpp"
#include "support/temp_dir.hpp"

using namespace mainstay::testing;
using namespace mainstay::runtime;
using mainstay::config::LogFormat;
using mainstay::config::LogLevel;
using mainstay::config::LogSpec;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A pipe standing for the console; the test reads it when (and if) it wants.
struct Console {
    int read_fd{-1};
    int write_fd{-1};
    std::string taken;
    Console() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        read_fd = fds[0];
        write_fd = fds[1];
        ::fcntl(read_fd, F_SETFL, O_NONBLOCK);
    }
    ~Console() {
        ::close(read_fd);
        ::close(write_fd);
    }
    // What the writer wrote since the last call.
    std::vector<std::string> lines() {
        char buf[65536];
        for (ssize_t n; (n = ::read(read_fd, buf, sizeof buf)) > 0;) taken.append(buf, static_cast<std::size_t>(n));
        std::vector<std::string> out;
        for (auto nl = taken.find('\n'); nl != std::string::npos; nl = taken.find('\n')) {
            out.push_back(taken.substr(0, nl));
            taken.erase(0, nl + 1);
        }
        return out;
    }
};

LogSpec spec_with(std::optional<fs::path> file, LogFormat format = LogFormat::text) {
    LogSpec spec;
    spec.level = LogLevel::debug;
    spec.file = std::move(file);
    spec.format = format;
    return spec;
}

std::size_t count_with(const std::vector<std::string>& lines, const std::string& text) {
    return static_cast<std::size_t>(std::count_if(
        lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; }));
}

OutputEntry service_entry(const std::string& service, std::size_t bytes) {
    OutputEntry e;
    e.service = service;
    e.text.assign(bytes, 'x');
    e.console = true;
    e.file = true;
    return e;
}

}  // namespace

TEST_CASE(
    "the queue charges each sink's budget apart, own lines have their own, drops are counted per service and sink") {
    OutputLimits limits{10'000, 20'000, 5'000, 5'000};
    OutputQueue q(limits);
    const std::size_t cost = service_entry("web", 1000).cost();
    int pushed = 0;
    while ((pushed + 1) * cost <= limits.service_console) {
        q.push(service_entry("web", 1000));
        ++pushed;
    }
    CHECK(q.dropped("web", Sink::console) == 0);
    q.push(service_entry("web", 1000));  // no room on the console, room in the file budget
    CHECK(q.dropped("web", Sink::console) == 1);
    CHECK(q.dropped("web", Sink::file) == 0);
    OutputEntry own;
    own.level = LogLevel::info;
    own.text = "mainstay's own";
    own.console = own.file = true;
    q.push(own);  // the service lines' full budget does not matter to it
    CHECK(q.dropped_own(Sink::console) == 0);
    auto taken = q.take();
    CHECK(taken.size() == static_cast<std::size_t>(pushed) + 2);
    CHECK_FALSE(taken[static_cast<std::size_t>(pushed)].console);  // the line that did not fit goes only to the file
    CHECK(taken.back().own());
    CHECK(q.take_summaries().empty());  // still under pressure: the console budget is full
    q.release(false, Sink::console, cost * static_cast<std::size_t>(pushed));
    auto summaries = q.take_summaries();
    REQUIRE(summaries.size() == 1);
    CHECK(summaries[0].service == "web");
    CHECK(summaries[0].sink == Sink::console);
    CHECK(summaries[0].lines == 1);
    CHECK(q.take_summaries().empty());            // once
    CHECK(q.dropped("web", Sink::console) == 1);  // the total stays
}

TEST_CASE(
    "mainstay's info lines reach its log file at once, its file and the services' are 0640, service lines carry a time "
    "stamp") {
    TempDir dir;
    Console console;
    Logging logging(spec_with(dir.path / "logs/mainstay.log"), console.write_fd);
    logging.log(LogLevel::info, "hello from mainstay");
    logging.service_line("web", "hello from web");
    // While mainstay runs (no warning has come to flush anything).
    REQUIRE(eventually(
        [&] { return count_with(read_lines(dir.path / "logs/mainstay.log"), "info: hello from mainstay") == 1; },
        5000ms));
    REQUIRE(eventually([&] { return read_lines(dir.path / "logs/web.log").size() == 1; }, 5000ms));
    const std::regex stamped(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z hello from web)");
    CHECK(std::regex_match(read_lines(dir.path / "logs/web.log").front(), stamped));
    const std::regex own(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: hello from mainstay)");
    CHECK(std::regex_match(read_lines(dir.path / "logs/mainstay.log").front(), own));
    for (const char* name : {"logs/mainstay.log", "logs/web.log"}) {
        struct stat st {};
        REQUIRE(::stat((dir.path / name).c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0640);
    }
    logging.stop();
    auto lines = console.lines();
    CHECK(count_with(lines, "web | hello from web") == 1);
    CHECK(count_with(lines, "info: hello from mainstay") == 1);
}

// The log files under `dir` this process has open now.
std::size_t open_files_under(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        const fs::path target = fs::read_symlink(fd.path(), ec);
        if (!ec && target.string().rfind(dir.string(), 0) == 0) ++n;
    }
    return n;
}

TEST_CASE("at most 32 services' log files are open at once, the others are opened again when they have lines") {
    TempDir dir;
    Console console;
    Logging logging(spec_with(dir.path / "logs/mainstay.log"), console.write_fd);
    std::size_t most_open = 0;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 100; ++i) logging.service_line("s" + std::to_string(i), "round " + std::to_string(round));
        for (int i = 0; i < 100; ++i) {
            const auto file = dir.path / "logs" / ("s" + std::to_string(i) + ".log");
            REQUIRE(eventually(
                [&] {
                    most_open = std::max(most_open, open_files_under(dir.path));
                    return read_lines(file).size() == static_cast<std::size_t>(round + 1);
                },
                5000ms));
        }
        (void)console.lines();
    }
    CHECK(most_open <= 33);  // 32 services' files and mainstay's own
    // A file closed and opened again is appended to, in order.
    const auto s0 = read_lines(dir.path / "logs/s0.log");
    REQUIRE(s0.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) CHECK(s0[i].find("round " + std::to_string(i)) != std::string::npos);
    logging.stop();
}

TEST_CASE(
    "file backlog: reading waits while the services' file lines fill half their budget and the writer writes them") {
    OutputLimits limits{1'000'000, 20'000, 5'000, 5'000};
    OutputQueue q(limits);
    const std::size_t cost = service_entry("web", 1000).cost();
    int pushed = 0;
    while ((pushed + 1) * cost * 2 <= limits.service_file) {
        q.push(service_entry("web", 1000));
        ++pushed;
    }
    CHECK_FALSE(q.file_backlog());  // half full: no backlog yet
    q.push(service_entry("web", 1000));
    q.push(service_entry("web", 1000));
    CHECK_FALSE(q.file_backlog());       // over half, but the writer has written nothing yet: it may be stuck
    q.release(false, Sink::file, cost);  // the writer wrote one
    CHECK(q.file_backlog());
    std::this_thread::sleep_for(600ms);  // and then nothing for longer than half a second: a hung disk
    CHECK_FALSE(q.file_backlog());       // lines are dropped and counted again, nobody waits
    q.release(false, Sink::file, cost * static_cast<std::size_t>(pushed + 1));
    CHECK_FALSE(q.file_backlog());  // drained
}

TEST_CASE("a full disk (/dev/full) is reported once, flagged and counted, no banner per line") {
    Console console;
    Logging logging(spec_with(fs::path("/dev/full")), console.write_fd);
    for (int i = 0; i < 20; ++i) logging.log(LogLevel::info, "line " + std::to_string(i));
    REQUIRE(eventually([&] { return logging.failing_files() == std::vector<std::string>{"/dev/full"}; }, 5000ms));
    REQUIRE(eventually([&] { return logging.dropped_own(Sink::file) >= 20; }, 5000ms));
    for (int i = 0; i < 20; ++i) logging.log(LogLevel::warn, "more " + std::to_string(i));
    REQUIRE(eventually([&] { return logging.dropped_own(Sink::file) >= 40; }, 5000ms));
    logging.stop();
    auto lines = console.lines();
    CHECK(count_with(lines,
                     "log file /dev/full: cannot write: No space left on device; dropping its lines until it can") ==
          1);
    CHECK(count_with(lines, "cannot write") == 1);
    CHECK(count_with(lines, "info: line ") == 20);  // the console still has every line
    CHECK(logging.dropped_own(Sink::console) == 0);
}

TEST_CASE(
    "a console nobody reads: lines wait within its budget, the rest are counted, own lines and files lose nothing, "
    "stop takes about a second") {
    TempDir dir;
    Console console;  // never read until the end
    std::optional<Logging> logging(std::in_place, spec_with(dir.path / "mainstay.log"), console.write_fd,
                                   OutputLimits{256 * 1024, 4 * 1024 * 1024, 64 * 1024, 64 * 1024});
    const int n = 3000;
    for (int i = 0; i < n; ++i)
        logging->service_line("flood", "line " + std::to_string(i) + " " + std::string(1000, 'x'));
    for (int i = 0; i < 10; ++i) logging->log(LogLevel::info, "own " + std::to_string(i));
    REQUIRE(eventually([&] { return read_lines(dir.path / "flood.log").size() == n; }, 10000ms));
    REQUIRE(eventually([&] { return count_with(read_lines(dir.path / "mainstay.log"), "info: own ") == 10; }, 10000ms));
    CHECK(logging->dropped("flood", Sink::console) > 0);
    CHECK(logging->dropped("flood", Sink::file) == 0);
    CHECK(logging->dropped_own(Sink::console) == 0);
    CHECK(logging->dropped_own(Sink::file) == 0);
    const auto begin = Clock::now();
    logging->stop();
    const auto took = Clock::now() - begin;
    CHECK(took < 2500ms);
    CHECK(took > 500ms);  // it did give the console its second
    // Every line is accounted for: written to the console or counted as dropped.
    auto lines = console.lines();
    const auto shown = count_with(lines, "flood | line ");
    CHECK(shown + logging->dropped("flood", Sink::console) == n);
    logging.reset();
}

TEST_CASE("when the console drains, one line says how many lines of each service it dropped") {
    TempDir dir;
    Console console;
    Logging logging(spec_with(dir.path / "mainstay.log"), console.write_fd,
                    OutputLimits{128 * 1024, 4 * 1024 * 1024, 64 * 1024, 64 * 1024});
    for (int i = 0; i < 2000; ++i) logging.service_line("flood", std::string(500, 'y'));
    REQUIRE(eventually([&] { return read_lines(dir.path / "flood.log").size() == 2000; }, 10000ms));
    const auto dropped = logging.dropped("flood", Sink::console);
    REQUIRE(dropped > 0);
    std::vector<std::string> lines;
    const std::string summary = "dropped " + std::to_string(dropped) + " lines of flood (console)";
    CHECK(eventually(
        [&] {  // reading lets the console drain; then the summary comes
            auto more = console.lines();
            lines.insert(lines.end(), more.begin(), more.end());
            return count_with(lines, summary) == 1;
        },
        10000ms));
    logging.stop();
    auto rest = console.lines();
    lines.insert(lines.end(), rest.begin(), rest.end());
    CHECK(count_with(lines, "lines of flood (console)") == 1);
    CHECK(count_with(read_lines(dir.path / "mainstay.log"), summary) == 1);
    CHECK(count_with(lines, "flood | ") + dropped == 2000);
}

TEST_CASE("json: own messages and service lines with bytes that are not UTF-8 are valid JSON with the same fields") {
    TempDir dir;
    Console console;
    Logging logging(spec_with(dir.path / "mainstay.log", LogFormat::json), console.write_fd);
    logging.log(LogLevel::warn, "bad \xC3\x28 byte \"quoted\"\n");
    logging.service_line("web", "\xFF\xFE tab\there \x01");
    logging.stop();
    auto lines = console.lines();
    REQUIRE(lines.size() == 2);
    for (const auto& l : lines) REQUIRE(nlohmann::json::accept(l));
    auto own = nlohmann::json::parse(lines[0]);
    CHECK(lines[0].rfind("{\"time\":\"", 0) == 0);
    CHECK(own["level"] == "warning");
    CHECK(own["message"] == "bad \xEF\xBF\xBD( byte \"quoted\"\n");
    auto service = nlohmann::json::parse(lines[1]);
    CHECK(lines[1].rfind("{\"time\":\"", 0) == 0);
    CHECK(service["service"] == "web");
    CHECK(service["line"] == "\xEF\xBF\xBD\xEF\xBF\xBD tab\there \x01");
    auto file = read_lines(dir.path / "web.log");
    REQUIRE(file.size() == 1);
    CHECK(nlohmann::json::parse(file[0]) == service);
    auto own_file = read_lines(dir.path / "mainstay.log");
    REQUIRE(own_file.size() == 1);
    CHECK(nlohmann::json::parse(own_file[0]) == own);
}

TEST_CASE("every byte charged to a budget is given back once its line is written, whatever the format") {
    for (LogFormat format : {LogFormat::text, LogFormat::json}) {
        TempDir dir;
        Console console;
        auto queue = std::make_shared<OutputQueue>();
        OutputOptions options;
        options.console_fd = console.write_fd;
        options.own_file = dir.path / "mainstay.log";
        options.service_files = true;
        options.format = format;
        OutputWriter writer(options, queue);
        std::size_t shown = 0;
        for (int round = 0; round < 20; ++round) {
            for (int i = 0; i < 500; ++i) {
                OutputEntry e;
                e.service = "a-service-with-a-long-name";
                e.label = i % 2 ? "" : "a-service-with-a-long-name/stop";
                e.text = "line " + std::to_string(i) + " \x01\xff";
                e.console = e.file = true;
                queue->push(std::move(e));
            }
            OutputEntry own;
            own.level = LogLevel::info;
            own.text = "round " + std::to_string(round);
            own.console = own.file = true;
            queue->push(std::move(own));
            REQUIRE(eventually(
                [&] {
                    // Charged 0 first, then read: every line of the round is in the pipe by then.
                    const bool written = queue->charged() == 0;
                    shown += console.lines().size();
                    return written;
                },
                10000ms));
        }
        CHECK(shown == 20 * 501);
        CHECK(queue->dropped("a-service-with-a-long-name", Sink::console) == 0);
        CHECK(read_lines(dir.path / "a-service-with-a-long-name.log").size() == 20 * 500);
        writer.stop();
    }
}
