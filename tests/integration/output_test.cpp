// mainstay run under output pressure: a slow console, a flooding service, an unwritable log
// directory, bytes that are not UTF-8. Supervision goes on, memory stays bounded, exit is quick.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

// main_yaml() with mainstay's log file elsewhere.
std::string main_yaml_logging_to(const std::string& log_file, const std::string& log_extra = "") {
    return "services_dir: services.d\n"
           "log: {file: " +
           log_file + ", level: debug" + log_extra +
           "}\n"
           "status: {socket: run/control.sock, file: run/status.json}\n"
           "shutdown: {timeout: 20s}\n";
}

// A service that crashes every 20 ms and is restarted at once: a steady stream of own lines.
const std::string kCrash = ts("--exit-after 20 --exit-code 1 --start-file crash.starts") +
                           "working_dir: ..\nrestart: {backoff: {initial: 10ms, max: 10ms, jitter: none}, "
                           "circuit_breaker: {failure_threshold: 100000}}\n";

std::size_t count_in(const std::filesystem::path& file, const std::string& text) {
    auto lines = read_lines(file);
    return static_cast<std::size_t>(std::count_if(
        lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; }));
}

// Peak resident memory of `pid`, in KiB (VmHWM), or 0 when unknown.
long peak_rss_kib(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    }
    return 0;
}

}  // namespace

TEST_CASE("100 MB of 64 KiB lines through a slow console: memory stays bounded, every own line reaches the log file") {
    // The console takes 4 KiB every 10 ms (400 KB/s); the service prints 1600 lines of 64 KiB as fast as it can.
    Mainstay m(main_yaml(),
               {{"flood", ts("--print-lines 1600 --line-length 65536") + "restart: {policy: on-failure}\n"},
                {"crash", kCrash}},
               {}, {}, true, 10ms);
    const auto own_log = m.dir() / "logs/mainstay.log";
    // Own lines reach the file promptly, whatever the console does.
    REQUIRE(eventually([&] { return count_in(own_log, "flood: stopped (exited with code 0") == 1; }, 60s));
    const int pid = m.pid();
    REQUIRE(pid > 0);
    const long peak = peak_rss_kib(pid);
    MESSAGE("peak RSS " << peak << " KiB");
    CHECK(peak > 0);
    if (kSanitized) {
        MESSAGE("memory bound not judged: built with a sanitizer");
    } else {
        CHECK(peak < 48 * 1024);  // the queue holds a few MiB, not the flood
    }
    // Once the console has drained, one line tells what it lost.
    CHECK(eventually([&] { return count_in(own_log, "lines of flood (console)") == 1; }, 60s));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    // Every start of `crash` was logged (its "running" line): none of mainstay's lines was dropped.
    const auto starts = read_lines(m.dir() / "crash.starts").size();
    CHECK(starts > 10);
    CHECK(count_in(own_log, "crash: running (pid ") >= starts);
    CHECK(count_in(own_log, "mainstay stopped") == 1);
}

TEST_CASE("SIGTERM with a slow console while a service floods: mainstay exits within a few seconds") {
    Mainstay m(main_yaml(), {{"flood", ts("--print-lines 1000000000 --line-length 8192")}}, {}, {}, true, 10ms);
    const auto flood_log = m.dir() / "logs/flood.log";
    REQUIRE(eventually(
        [&] { return std::filesystem::exists(flood_log) && std::filesystem::file_size(flood_log) > 4'000'000; }));
    const auto begin = Clock::now();
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin);
    MESSAGE("exit took " << took.count() << " ms");
    CHECK(took < 8s);  // the console gets about a second to drain, then the rest is dropped
    CHECK(count_in(m.dir() / "logs/mainstay.log", "mainstay stopped") == 1);
    // mainstay's own lines go ahead of the flood on the console: the shutdown is seen there too.
    CHECK(m.count("received SIGTERM") == 1);
    CHECK(m.count("all services stopped") == 1);
}

TEST_CASE("log.format json: bytes that are not UTF-8 still make valid JSON lines everywhere") {
    Mainstay m(main_yaml(", format: json"),
               {{"bad", "command: [printf, 'ok \\377\\376 \"quoted\" \\001 end\\n']\nrestart: {policy: never}\n"}});
    REQUIRE(m.wait_for("bad: stopped"));
    REQUIRE(m.wait_for("\"service\":\"bad\""));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    auto parse_all = [](const std::vector<std::string>& lines) {
        std::size_t parsed = 0;
        for (const auto& l : lines) {
            INFO(l);
            CHECK_NOTHROW(nlohmann::json::parse(l));
            parsed += nlohmann::json::accept(l);
        }
        return parsed;
    };
    CHECK(parse_all(m.lines()) == m.lines().size());
    auto own = read_lines(m.dir() / "logs/mainstay.log");
    CHECK(parse_all(own) == own.size());
    auto service = read_lines(m.dir() / "logs/bad.log");
    REQUIRE(service.size() == 1);
    REQUIRE(nlohmann::json::accept(service[0]));
    auto line = nlohmann::json::parse(service[0]);
    CHECK(line["service"] == "bad");
    CHECK(line["line"] == "ok \xEF\xBF\xBD\xEF\xBF\xBD \"quoted\" \x01 end");  // each bad byte is U+FFFD
    CHECK(line["time"].get<std::string>().size() == 24);
}

TEST_CASE("a log directory that cannot be written is reported once per file, supervision goes on, and it recovers") {
    // `blocker` is a file, so `blocker/logs` cannot be created (even by root): every open fails.
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-blocked-XXXXXX").string();
    const std::filesystem::path outside = ::mkdtemp(tmpl.data());
    std::ofstream(outside / "blocker") << "not a directory\n";
    Mainstay m(main_yaml_logging_to((outside / "blocker/logs/mainstay.log").string()),
               {{"chatty", ts("--lines-per-second 200")}, {"crash", kCrash}});
    const auto starts = m.dir() / "crash.starts";
    REQUIRE(eventually([&] { return read_lines(starts).size() >= 30; }));  // supervision goes on
    REQUIRE(m.wait_for("blocker/logs/chatty.log: cannot write: Not a directory; dropping its lines until it can"));
    REQUIRE(m.wait_for("blocker/logs/mainstay.log: cannot write: Not a directory"));
    const auto more = read_lines(starts).size() + 30;
    REQUIRE(eventually([&] { return read_lines(starts).size() >= more; }));
    CHECK(m.count("chatty.log: cannot write") == 1);  // once per episode, no banner per line
    CHECK(m.count("mainstay.log: cannot write") == 1);

    std::filesystem::remove(outside / "blocker");
    CHECK(m.wait_for("blocker/logs/chatty.log: writing again"));
    CHECK(m.wait_for("blocker/logs/mainstay.log: writing again"));
    CHECK(eventually([&] { return count_in(outside / "blocker/logs/chatty.log", " line ") > 10; }));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    CHECK(m.count("cannot write") == 2);
    CHECK(m.count("writing again") == 2);
    std::error_code ec;
    std::filesystem::remove_all(outside, ec);
}

TEST_CASE("output that goes nowhere is not read: the service writes to /dev/null, mainstay holds no pipe of it") {
    Mainstay m(main_yaml(), {{"quiet", ts("--pid-file quiet.pid --print-lines 1000000000 --line-length 100") +
                                           "working_dir: ..\noutput: {console: false, file: false}\n"},
                             {"loud", ts("--pid-file loud.pid --stay") + "working_dir: ..\n"}});
    int quiet = -1, loud = -1;
    REQUIRE(eventually([&] {
        const auto q = read_lines(m.dir() / "quiet.pid");
        const auto l = read_lines(m.dir() / "loud.pid");
        if (q.size() != 1 || l.size() != 1) return false;
        quiet = std::stoi(q[0]);
        loud = std::stoi(l[0]);
        return quiet > 1 && loud > 1;
    }));
    auto target = [](int pid, int fd) {
        std::error_code ec;
        return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec).string();
    };
    CHECK(target(quiet, 1) == "/dev/null");
    CHECK(target(quiet, 2) == "/dev/null");
    CHECK(target(loud, 1).rfind("pipe:", 0) == 0);  // one whose output goes somewhere is read as before
    CHECK_FALSE(std::filesystem::exists(m.dir() / "logs/quiet.log"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}
