// The running instance from the outside (SPEC §1, §5-6): `mainstay status|why|events|start|
// stop|restart|resume|analyze` over the control socket, the status file, and the HTTP endpoint, each
// against a real `mainstay run` with real children.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness.hpp"
#include "support/free_port.hpp"
#include "support/http_get.hpp"
#include "support/unix_client.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

std::string main_with(const std::string& status_extra) {
    return "services_dir: services.d\n"
           "log: {file: logs/mainstay.log, level: debug}\n"
           "status: {socket: run/control.sock, file: run/status.json" +
           status_extra +
           "}\n"
           "shutdown: {timeout: 20s}\n";
}

// A connection of the test's own to the instance's control socket; -1 when it cannot connect.
int connect_control(const Mainstay& m) {
    return connect_unix(m.dir() / "run/control.sock");
}

}  // namespace

TEST_CASE("status: the table, --json, names, and the exit code follows the mode") {
    Mainstay m(main_with(""), {{"web", ts("") + "ready_after: 100ms\n"}, {"docker", "command: [dockerd-not-here]\n"}});
    REQUIRE(m.wait_for("mode: degraded"));
    auto table = cli(m, {"status"});
    CHECK(table.code == 1);  // degraded
    CHECK(table.out.find("docker") != std::string::npos);
    CHECK(table.out.find("recovering") != std::string::npos);
    CHECK(table.out.find("mode: degraded") != std::string::npos);
    auto json = cli(m, {"status", "--json"});
    CHECK(json.code == 1);
    auto doc = nlohmann::json::parse(json.out);
    CHECK(doc["mode"] == "degraded");
    REQUIRE(doc["services"].size() == 2);
    auto one = cli(m, {"status", "--json", "web"});
    auto web = nlohmann::json::parse(one.out);
    REQUIRE(web["services"].size() == 1);
    CHECK(web["services"][0]["state"] == "ready");
    auto unknown = cli(m, {"status", "nope"});
    CHECK(unknown.code != 0);
    CHECK(unknown.err.find("no service named nope") != std::string::npos);
    CHECK(cli(m, {"stop", "docker"}).code == 0);
    CHECK(eventually([&] { return cli(m, {"status"}).code == 1; }));  // stopped by hand: still not full
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("status exits 0 when full, and 3 with the last status file once the instance is gone") {
    Mainstay m(main_with(""), {{"web", ts("") + "ready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    CHECK(cli(m, {"status"}).code == 0);
    struct stat st {};
    REQUIRE(::stat((m.dir() / "run/control.sock").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    auto gone = cli(m, {"status"});
    CHECK(gone.code == 3);
    CHECK(gone.err.find("not running") != std::string::npos);
    CHECK(gone.out.find("web") != std::string::npos);  // from the status file
    auto doc = nlohmann::json::parse(read_lines(m.dir() / "run/status.json").at(0));
    CHECK(doc["mode"] == "stopping");
}

TEST_CASE("why names the root cause down the chain, with its next attempt") {
    Mainstay m(main_with(""), {{"db", "command: [db-not-here]\nrestart: {backoff: {initial: 10s}}\n"},
                               {"api", ts("") + "depends_on: [db]\n"},
                               {"web", ts("") + "depends_on: [api]\n"}});
    REQUIRE(m.wait_for("mode: degraded"));
    auto why = cli(m, {"why", "web"});
    CHECK(why.code == 1);
    CHECK(why.out.find("db") != std::string::npos);
    CHECK(why.out.find("executable not found: db-not-here") != std::string::npos);
    auto json = cli(m, {"why", "web", "--json"});
    auto answer = nlohmann::json::parse(json.out);
    REQUIRE(answer["root_causes"].size() == 1);
    CHECK(answer["root_causes"][0] == "db");
    auto unknown = cli(m, {"why", "nope"});
    CHECK(unknown.code == 1);
    CHECK(unknown.err.find("no service or capability named nope") != std::string::npos);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("events: the journal oldest first, --json, and --follow sees a restart by hand") {
    Mainstay m(main_with(""), {{"web", ts("") + "ready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    auto text = cli(m, {"events"});
    CHECK(text.code == 0);
    CHECK(text.out.find("web") != std::string::npos);
    CHECK(text.out.find("running -> ready") != std::string::npos);
    auto json = cli(m, {"events", "--json", "--since", "1h"});
    REQUIRE(json.code == 0);
    bool saw_ready = false;
    for (std::size_t at = 0, nl; (nl = json.out.find('\n', at)) != std::string::npos; at = nl + 1) {
        auto e = nlohmann::json::parse(json.out.substr(at, nl - at));
        if (e.value("service", "") == "web" && e["to"] == "ready") saw_ready = true;
    }
    CHECK(saw_ready);
    // --follow in the background: the journal so far, then the restart's transitions and the
    // shutdown as they happen, until the instance goes away.
    CliResult followed;
    // A jthread: a failed REQUIRE below still joins it (the cli call ends at its deadline).
    std::jthread follower([&] { followed = cli(m, {"events", "--follow", "--json", "web"}); });
    auto restart = cli(m, {"restart", "web"});
    CHECK(restart.code == 0);
    CHECK(restart.out == "web: restart requested\n");
    REQUIRE(m.wait_for("web: restart requested"));
    REQUIRE(eventually([&] { return m.count("web: ready") == 2; }));
    m.signal(SIGTERM);  // ends the follower: the instance goes away
    CHECK(m.wait_exit() == 0);
    follower.join();
    CHECK(followed.out.find("\"to\":\"stopping\"") != std::string::npos);
}

TEST_CASE("start, stop, restart and resume by hand, and why not") {
    Mainstay m(main_with(""), {{"web", ts("--pid-file web.pid") + "working_dir: ..\nready_after: 100ms\n"}});
    REQUIRE(m.wait_for("web: ready"));
    // ready_after is mainstay's clock: the service may write its pid file a little later.
    const auto pid_file = m.dir() / "web.pid";
    REQUIRE(eventually([&] { return !read_lines(pid_file).empty(); }));
    const auto first = read_lines(pid_file);
    CHECK(cli(m, {"stop", "web"}).code == 0);
    REQUIRE(m.wait_for("web: stopped"));
    auto again = cli(m, {"stop", "web"});
    CHECK(again.code == 1);
    CHECK(again.err.find("web is already stopped") != std::string::npos);
    CHECK(cli(m, {"start", "web"}).code == 0);
    REQUIRE(eventually([&] { return m.count("web: ready") == 2; }));
    CHECK(eventually([&] {
        const auto now = read_lines(pid_file);
        return !now.empty() && now != first;
    }));
    auto resume = cli(m, {"resume", "web"});
    CHECK(resume.code == 1);
    CHECK(resume.err.find("nothing to resume") != std::string::npos);
    auto unknown = cli(m, {"restart", "nope"});
    CHECK(unknown.code == 1);
    CHECK(unknown.err.find("no service named nope") != std::string::npos);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    CHECK(cli(m, {"start", "web"}).code == 3);  // nobody to ask
}

TEST_CASE("a control client that asks and never reads is dropped, and supervision goes on") {
    Mainstay m(main_with(""), {{"web", ts("--pid-file web.pid") + "working_dir: ..\nready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    const int fd = connect_control(m);
    REQUIRE(fd >= 0);
    // Thousands of status requests, whose answers it never reads: megabytes queued for it.
    const std::string request = "{\"cmd\":\"status\"}\n";
    std::string many;
    for (int i = 0; i < 4000; ++i) many += request;
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    std::size_t sent = 0;
    const auto until = Clock::now() + 10s;
    while (sent < many.size() && Clock::now() < until) {
        const ssize_t n = ::send(fd, many.data() + sent, many.size() - sent, MSG_NOSIGNAL);
        if (n > 0)
            sent += static_cast<std::size_t>(n);
        else if (n < 0 && errno != EAGAIN)
            break;  // dropped: the connection is gone
        else
            std::this_thread::sleep_for(1ms);
    }
    // Meanwhile the others are answered, and a crash is still seen and restarted.
    const auto started = Clock::now();
    CHECK(cli(m, {"status"}).code == 0);
    CHECK(Clock::now() - started < 10s);
    CHECK(cli(m, {"restart", "web"}).code == 0);
    CHECK(eventually([&] { return m.count("web: ready") == 2; }));
    ::close(fd);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("HTTP: healthz, readyz, status, events, metrics, and 404, 405, 400") {
    const int port = free_port();
    Mainstay m(main_with(", http: \"127.0.0.1:" + std::to_string(port) + "\""),
               {{"web", ts("") + "ready_after: 100ms\n"}});
    REQUIRE(m.wait_for("status over HTTP on 127.0.0.1:" + std::to_string(port)));
    REQUIRE(m.wait_for("mode: full"));
    CHECK(get(port, "/healthz").rfind("HTTP/1.1 200", 0) == 0);
    auto ready = get(port, "/readyz");
    CHECK(ready.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(ready.find("full") != std::string::npos);
    auto status = get(port, "/status");
    REQUIRE(status.rfind("HTTP/1.1 200", 0) == 0);
    auto doc = nlohmann::json::parse(status.substr(status.find("\r\n\r\n") + 4));
    CHECK(doc["mode"] == "full");
    auto events = get(port, "/events");
    CHECK(events.find("\"to\":\"ready\"") != std::string::npos);
    auto metrics = get(port, "/metrics");
    CHECK(metrics.find("# TYPE mainstay_service_ready gauge") != std::string::npos);
    CHECK(metrics.find("mainstay_service_ready{service=\"web\"} 1") != std::string::npos);
    CHECK(metrics.find("# HELP mainstay_output_dropped_lines_total") != std::string::npos);
    CHECK(get(port, "/nope").rfind("HTTP/1.1 404", 0) == 0);
    CHECK(http(port, "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
              .rfind("HTTP/1.1 405", 0) == 0);
    CHECK(http(port, "BLAH\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("an HTTP port in use is reported at start, and supervision goes on") {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const int port = ntohs(a.sin_port);
    Mainstay m(main_with(", http: \"127.0.0.1:" + std::to_string(port) + "\""),
               {{"web", ts("") + "ready_after: 100ms\n"}});
    CHECK(m.wait_for("status.http: "));
    CHECK(m.wait_for("mode: full"));
    CHECK(cli(m, {"status"}).code == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    ::close(fd);
}

TEST_CASE("the table is printed at the end of the startup phase and every print_interval") {
    Mainstay m(main_with(", print_interval: 300ms"), {{"web", ts("") + "ready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    CHECK(m.wait_for("NAME"));
    CHECK(eventually([&] { return m.count("info: status") >= 3; }));
    // The table's rows (not mainstay's other lines, which carry a time stamp): at most 80 columns.
    std::size_t rows = 0;
    for (const auto& line : m.lines()) {
        if (line.rfind("NAME ", 0) != 0 && line.rfind("web ", 0) != 0) continue;
        ++rows;
        CHECK(line.size() <= 80);
    }
    CHECK(rows >= 6);  // a header and a row, three times
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("a status watcher gets the document again at every change, until the instance ends") {
    Mainstay m(main_with(""), {{"web", ts("") + "ready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    // The server side, on a socket of the test's own: registered once the first answer is read.
    const int fd = connect_control(m);
    REQUIRE(fd >= 0);
    const std::string request = "{\"cmd\":\"status\",\"watch\":true}\n";
    REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    std::string input;
    auto next_doc = [&]() -> nlohmann::json {
        const auto until = Clock::now() + 30s;
        while (Clock::now() < until) {
            if (auto nl = input.find('\n'); nl != std::string::npos) {
                auto line = nlohmann::json::parse(input.substr(0, nl));
                input.erase(0, nl + 1);
                return line;
            }
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 1000) != 1) continue;
            char buf[65536];
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) break;
            input.append(buf, static_cast<std::size_t>(n));
        }
        return {};
    };
    REQUIRE(next_doc()["status"]["services"][0]["state"] == "ready");
    // The command line's --watch alongside: documents, one per line, until the instance ends.
    CliResult watched;
    std::thread watcher([&] { watched = cli(m, {"status", "--watch", "--json"}); });
    CHECK(cli(m, {"stop", "web"}).code == 0);
    bool stopped = false;
    for (int i = 0; i < 10 && !stopped; ++i) stopped = next_doc()["status"]["services"][0]["state"] == "stopped";
    CHECK(stopped);
    CHECK(cli(m, {"start", "web"}).code == 0);
    bool back = false;
    for (int i = 0; i < 10 && !back; ++i) {
        const auto doc = next_doc();
        back = doc["status"]["services"][0]["state"] == "ready" && doc["status"]["services"][0]["restarts"] == 1;
    }
    CHECK(back);
    m.signal(SIGTERM);
    // The shutdown is a mode change: its document comes at once, before the connection ends
    // (before, it waited out the 250 ms between documents, and a quick shutdown ended first).
    bool stopping = false;
    for (int i = 0; i < 10 && !stopping; ++i) {
        const auto doc = next_doc();
        if (doc.is_null()) break;
        stopping = doc["status"]["mode"] == "stopping";
    }
    CHECK(stopping);
    CHECK(m.wait_exit() == 0);
    watcher.join();
    CHECK(watched.err.find("the instance closed the connection") != std::string::npos);
    CHECK(watched.out.find("{\"capabilities\"") == 0);
    CHECK((watched.code == 0 || watched.code == 1));  // the mode of the last document it saw
    ::close(fd);
}

namespace {

// db -> api -> web, each ready 300 ms after it started.
std::vector<std::pair<std::string, std::string>> startup_chain() {
    return {{"db", ts("") + "ready_after: 300ms\n"},
            {"api", ts("") + "ready_after: 300ms\ndepends_on: [db]\n"},
            {"web", ts("") + "ready_after: 300ms\ndepends_on: [api]\n"}};
}

std::string slurp(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("analyze: the startup timeline, the critical chain web <- api <- db, the SVG chart and GET /analyze") {
    const int port = free_port();
    Mainstay m(main_with(", http: \"127.0.0.1:" + std::to_string(port) + "\""), startup_chain());
    REQUIRE(m.wait_for("mode: full"));

    auto text = cli(m, {"analyze"});
    CHECK(text.code == 0);
    INFO(text.out);
    std::vector<std::string> lines;
    std::istringstream in(text.out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    REQUIRE(lines.size() >= 9);
    CHECK(lines[0].rfind("startup: ", 0) == 0);
    CHECK(lines[0].find("(mode full)") != std::string::npos);
    CHECK(lines[1].rfind("SERVICE", 0) == 0);
    for (std::size_t i = 2; i < 5; ++i) CHECK(lines[i].find(" ready") != std::string::npos);
    CHECK(lines[2].rfind("db ", 0) == 0);
    CHECK(lines[3].rfind("api ", 0) == 0);
    CHECK(lines[4].rfind("web ", 0) == 0);
    auto chain = std::find(lines.begin(), lines.end(), "critical chain:");
    REQUIRE(lines.end() - chain == 4);
    CHECK(chain[1].rfind("web @", 0) == 0);
    CHECK(chain[2].rfind("\u2514\u2500api @", 0) == 0);
    CHECK(chain[3].rfind("  \u2514\u2500db @", 0) == 0);

    auto json = cli(m, {"analyze", "--json"});
    REQUIRE(json.code == 0);
    const auto t = nlohmann::json::parse(json.out);
    CHECK(t["startup"]["done"] == true);
    CHECK(t["startup"]["mode"] == "full");
    std::map<std::string, nlohmann::json> s;
    for (const auto& x : t["services"]) s[x["name"].get<std::string>()] = x;
    REQUIRE(s.size() == 3);
    // Each is launched once the one before it is ready, and is ready 300 ms after it started
    // (a process's launch is when it was spawned: a little after that start).
    std::vector<std::string> order;
    for (const auto& x : t["services"]) order.push_back(x["name"].get<std::string>());
    CHECK(order == std::vector<std::string>{"db", "api", "web"});  // as launched
    auto at = [&](const char* name, const char* what) { return s[name][what].get<int>(); };
    CHECK(at("db", "ready_ms") >= 300);
    CHECK(at("db", "ready_ms") <= at("api", "launched_ms"));
    CHECK(at("api", "ready_ms") >= at("db", "ready_ms") + 300);
    CHECK(at("api", "ready_ms") <= at("web", "launched_ms"));
    CHECK(at("web", "ready_ms") >= at("api", "ready_ms") + 300);
    CHECK(at("web", "launched_ms") == at("web", "running_ms"));
    CHECK(t["startup"]["duration_ms"].get<int>() >= at("web", "ready_ms"));

    const auto svg_file = m.dir() / "startup.svg";
    auto svg = cli(m, {"analyze", "--svg", svg_file.string()});
    CHECK(svg.code == 0);
    CHECK(svg.out.find("startup chart written to " + svg_file.string()) != std::string::npos);
    const std::string chart = slurp(svg_file);
    CHECK(chart.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
    CHECK(occurrences(chart, "<rect class=\"bar ") == 3);
    for (const char* name : {"db", "api", "web"})
        CHECK(occurrences(chart, std::string("data-service=\"") + name + "\"") == 1);
    CHECK(occurrences(chart, "<path class=\"edge") == 2);
    auto unwritable = cli(m, {"analyze", "--svg", (m.dir() / "no/such/dir/x.svg").string()});
    CHECK(unwritable.code == 73);
    CHECK(unwritable.err.find("cannot write") != std::string::npos);

    auto http_answer = get(port, "/analyze");
    REQUIRE(http_answer.rfind("HTTP/1.1 200", 0) == 0);
    const auto over_http = nlohmann::json::parse(http_answer.substr(http_answer.find("\r\n\r\n") + 4));
    CHECK(over_http["critical_chain"][0]["name"] == "web");
    CHECK(get(port, "/nope").find("/analyze") != std::string::npos);

    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    CHECK(cli(m, {"analyze"}).code == 3);  // nobody to ask
}

// packaging/render-svg-check.sh installs chromium and runs this one.
TEST_CASE("analyze: the SVG chart renders in a headless browser") {
    const std::string chromium = "/usr/bin/chromium";
    if (::access(chromium.c_str(), X_OK) != 0) {
        MESSAGE("chromium is not installed: skipped (packaging/render-svg-check.sh installs it and runs this test)");
        return;
    }
    Mainstay m(main_with(""), startup_chain());
    REQUIRE(m.wait_for("mode: full"));
    const auto chart = m.dir() / "startup.svg";
    REQUIRE(cli(m, {"analyze", "--svg", chart.string()}).code == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    // The same page size with nothing on it, to tell a drawn chart from an empty page.
    const auto blank = m.dir() / "blank.svg";
    std::ofstream(blank) << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1200\" height=\"800\">"
                            "<rect width=\"1200\" height=\"800\" fill=\"#ffffff\"/></svg>\n";
    auto browse = [&](const std::filesystem::path& svg, const std::string& what) {
        auto r = run_command({chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                              "--user-data-dir=" + (m.dir() / "chromium-profile").string(), what,
                              "--window-size=1200,800", "file://" + svg.string()},
                             std::chrono::seconds(100));
        INFO("chromium " << what << ": exit " << r.code << "\n" << r.err);
        CHECK(r.code == 0);
        return r.out;
    };
    // The document the browser built: the SVG itself, not its page of XML errors.
    const std::string dom = browse(chart, "--dump-dom");
    CHECK(dom.rfind("<svg", 0) == 0);
    CHECK(dom.find("parsererror") == std::string::npos);
    CHECK(occurrences(dom, "<rect class=\"bar ") == 3);
    auto screenshot = [&](const std::filesystem::path& svg) {
        const auto png = std::filesystem::path(svg).replace_extension(".png");
        browse(svg, "--screenshot=" + png.string());
        return slurp(png);
    };
    const std::string drawn = screenshot(chart);
    const std::string empty = screenshot(blank);
    INFO("chart PNG " << drawn.size() << " bytes, blank PNG " << empty.size() << " bytes");
    REQUIRE(drawn.size() > 24);
    CHECK(drawn.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    // IHDR: the width and height, big-endian, at bytes 16 and 20.
    auto be32 = [&](std::size_t at) {
        return (static_cast<unsigned char>(drawn[at]) << 24) | (static_cast<unsigned char>(drawn[at + 1]) << 16) |
               (static_cast<unsigned char>(drawn[at + 2]) << 8) | static_cast<unsigned char>(drawn[at + 3]);
    };
    CHECK(be32(16) == 1200);
    CHECK(be32(20) == 800);
    CHECK(drawn.size() > 10 * 1024);
    CHECK(drawn.size() > empty.size() + 5 * 1024);  // bars, text and lines, not a white page
}
