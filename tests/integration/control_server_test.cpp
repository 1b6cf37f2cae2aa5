// The control socket's server (report/control_server) and the command line's client
// (cli/control_client) on real unix sockets in a temporary directory. The server's loop runs in
// the test thread until a condition holds; a client that waits for an answer runs on a thread
// of its own. Deadlines are generous; nothing sleeps as a check.
#include "serve/control_server.hpp"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/control_client.hpp"
#include "integration/serve_support.hpp"
#include "support/unix_client.hpp"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using mainstay::cli::ConnectFailure;
using mainstay::cli::ControlClient;
using mainstay::serve::ControlLimits;
using mainstay::serve::ControlServer;
using mainstay::serve::ControlSession;
using nlohmann::json;
using namespace mainstay::testing;

void echo(const json& request, std::shared_ptr<ControlSession> session) {
    session->send({{"ok", true}, {"echo", request}});
}

// Connects, sends each request and collects one answer per request (or the error, as a string).
std::vector<json> ask(const fs::path& socket, std::vector<json> requests) {
    std::vector<json> answers;
    std::string error;
    auto client = ControlClient::connect(socket, error);
    if (!client) return {json(error)};
    for (const auto& r : requests) {
        if (!client->send(r)) return {json(client->error())};
        auto answer = client->receive(10s, error);
        answers.push_back(answer ? *answer : json(error));
    }
    return answers;
}

// The answers to `requests`, asked from another thread while the server's loop runs here.
std::vector<json> ask_while_serving(asio::io_context& io, const fs::path& socket, std::vector<json> requests) {
    auto answers = in_background([=] { return ask(socket, requests); });
    REQUIRE(pump(io, [&] { return ready(answers); }));
    return answers.get();
}

// What the client reads until the server closes the connection: the lines, then the reason.
std::vector<json> read_to_end(ControlClient& client) {
    std::vector<json> lines;
    std::string error;
    while (auto line = client.receive(10s, error)) lines.push_back(*line);
    lines.push_back(json(error));
    return lines;
}

// A client that writes raw bytes (what ControlClient never would) and reads raw lines.
class RawClient {
public:
    explicit RawClient(const fs::path& path) : fd_(mainstay::testing::connect_unix(path)), connected_(fd_ >= 0) {}
    ~RawClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return connected_; }

    bool write(const std::string& bytes) { return mainstay::testing::send_all(fd_, bytes); }

    // The next line, or "<closed>" at the end of the stream, or "<timeout>".
    std::string line(std::chrono::milliseconds limit = 10s) {
        const auto deadline = Clock::now() + limit;
        for (;;) {
            if (auto newline = input_.find('\n'); newline != std::string::npos) {
                std::string got = input_.substr(0, newline);
                input_.erase(0, newline + 1);
                return got;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            pollfd p{fd_, POLLIN, 0};
            if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return "<timeout>";
            char chunk[4096];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) return "<closed>";
            input_.append(chunk, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_;
    bool connected_{false};
    std::string input_;
};

// A unix socket bound at `path` and closed without removing its file: what a killed server
// leaves behind.
void leave_stale_socket(const fs::path& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.string().copy(address.sun_path, sizeof address.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    ::close(fd);
    REQUIRE(fs::is_socket(path));
}

constexpr int kCannotSwitch = 100;

// Forks a child that becomes uid/gid 65534 and runs `body`, whose result is the exit code;
// waits for it (the parent's loop keeps running). The exit status (kCannotSwitch when the
// child could not take that uid, as in a user namespace that does not map it), or -1.
int as_nobody(asio::io_context& io, const std::function<int()>& body) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(kCannotSwitch);
        ::_exit(body());
    }
    int status = 0;
    bool reaped = false;
    pump(io, [&] { return reaped = ::waitpid(pid, &status, WNOHANG) == pid; });
    REQUIRE(reaped);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("a request gets its answer over the control socket, and the connection serves the next") {
    TempDir dir;
    asio::io_context io;
    std::string error;
    const auto path = dir.path / "control.sock";
    auto server = ControlServer::open(io, path, echo, error);
    REQUIRE_MESSAGE(server, error);
    CHECK(server->path() == path);

    const auto answers = ask_while_serving(io, path, {{{"cmd", "status"}}, {{"cmd", "events"}, {"n", 2}}});
    REQUIRE(answers.size() == 2);
    CHECK(answers[0] == json{{"ok", true}, {"echo", {{"cmd", "status"}}}});
    CHECK(answers[1] == json{{"ok", true}, {"echo", {{"cmd", "events"}, {"n", 2}}}});
}

TEST_CASE("the control socket is mode 0600, in a directory created 0755") {
    TempDir dir;
    asio::io_context io;
    std::string error;
    const auto path = dir.path / "run" / "mainstay" / "control.sock";
    const mode_t old_mask = ::umask(077);  // the directories must be 0755 whatever the umask
    auto server = ControlServer::open(io, path, echo, error);
    ::umask(old_mask);
    REQUIRE_MESSAGE(server, error);
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);
    for (const auto& d : {dir.path / "run", dir.path / "run" / "mainstay"}) {
        REQUIRE(::stat(d.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0755);
    }
}

TEST_CASE("a stale control socket file is replaced, and the client calls it no instance") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    std::string error;
    ConnectFailure failure = ConnectFailure::other;
    CHECK_FALSE(ControlClient::connect(path, error, &failure));
    CHECK(failure == ConnectFailure::no_instance);  // no file at all
    CHECK(error.find("no instance is running") != std::string::npos);

    leave_stale_socket(path);
    failure = ConnectFailure::other;
    CHECK_FALSE(ControlClient::connect(path, error, &failure));
    CHECK(failure == ConnectFailure::no_instance);  // a file, nobody listening
    CHECK(error.find("connection refused") != std::string::npos);

    auto server = ControlServer::open(io, path, echo, error);
    REQUIRE_MESSAGE(server, error);
    const auto answers = ask_while_serving(io, path, {{{"cmd", "ping"}}});
    CHECK(answers == std::vector<json>{{{"ok", true}, {"echo", {{"cmd", "ping"}}}}});
}

TEST_CASE("a second server on a live control socket fails, and the first keeps working") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    std::string error;
    auto first = ControlServer::open(io, path, echo, error);
    REQUIRE_MESSAGE(first, error);

    auto second = ControlServer::open(io, path, echo, error);
    CHECK_FALSE(second);
    CHECK(error.find("another server is listening on control socket") != std::string::npos);
    CHECK(fs::is_socket(path));
    const auto answers = ask_while_serving(io, path, {{{"cmd", "ping"}}});
    CHECK(answers == std::vector<json>{{{"ok", true}, {"echo", {{"cmd", "ping"}}}}});
}

TEST_CASE("a control socket path that holds a regular file is an error and the file is left alone") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    std::ofstream(path) << "keep me\n";
    std::string error;
    CHECK_FALSE(ControlServer::open(io, path, echo, error));
    CHECK(error.find("exists and is not a socket") != std::string::npos);
    std::ifstream in(path);
    std::string content;
    std::getline(in, content);
    CHECK(content == "keep me");
}

TEST_CASE("malformed requests get an error line and the connection stays usable") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    std::string error;
    auto server = ControlServer::open(io, path, echo, error);
    REQUIRE_MESSAGE(server, error);

    // One line that does not parse, a JSON value that is not an object, a blank line (ignored),
    // then a good request ending in CRLF.
    auto lines = in_background([&] {
        RawClient client(path);
        std::vector<std::string> got;
        if (!client.connected() || !client.write("{\"cmd\": \n[1,2]\n\n{\"cmd\":\"ping\"}\r\n")) return got;
        for (int i = 0; i < 3; ++i) got.push_back(client.line());
        return got;
    });
    REQUIRE(pump(io, [&] { return ready(lines); }));
    const auto got = lines.get();
    REQUIRE(got.size() == 3);
    CHECK(got[0].rfind(R"({"error":"malformed request: parse error at line 1)", 0) == 0);
    CHECK(got[1] == R"({"error":"malformed request: not a JSON object","ok":false})");
    CHECK(got[2] == R"({"echo":{"cmd":"ping"},"ok":true})");
}

TEST_CASE("a request line over 64 KiB gets an error and the connection is closed, one under it is served") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    std::string error;
    auto server = ControlServer::open(
        io, path,
        [](const json&, std::shared_ptr<ControlSession> s) {
            s->send({{"ok", true}});
        },
        error);
    REQUIRE_MESSAGE(server, error);

    auto lines = in_background([&] {
        std::vector<std::string> got;
        RawClient under(path);
        under.write("{\"pad\":\"" + std::string(60 * 1024, 'a') + "\"}\n");
        got.push_back(under.line());
        RawClient over(path);
        over.write(std::string(70 * 1024, 'a'));  // and no end of line
        got.push_back(over.line());
        got.push_back(over.line());
        return got;
    });
    REQUIRE(pump(io, [&] { return ready(lines); }));
    const auto got = lines.get();
    REQUIRE(got.size() == 3);
    CHECK(got[0] == R"({"ok":true})");
    CHECK(got[1] == R"j({"error":"request line too long (over 65536 bytes)","ok":false})j");
    CHECK(got[2] == "<closed>");
}

TEST_CASE("a client that never reads what is streamed to it is dropped, and the others are answered meanwhile") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";

    // `follow` streams 1 KB events, 64 every millisecond, until send() refuses.
    std::shared_ptr<ControlSession> follower;
    asio::steady_timer timer(io);
    std::size_t sent = 0;
    bool refused = false;
    int on_close_calls = 0;
    std::function<void()> stream = [&] {
        const json event = {{"event", std::string(1000, 'e')}};
        for (int i = 0; i < 64; ++i) {
            if (!follower->send(event)) {
                refused = true;
                return;
            }
            ++sent;
        }
        timer.expires_after(1ms);
        timer.async_wait([&](const boost::system::error_code& ec) {
            if (!ec) stream();
        });
    };
    auto handler = [&](const json& request, std::shared_ptr<ControlSession> session) {
        if (request.value("cmd", "") != "follow") return echo(request, session);
        session->subscribe([&] { ++on_close_calls; });
        session->send({{"ok", true}});
        follower = session;
        stream();
    };
    std::string error;
    auto server = ControlServer::open(io, path, handler, error);
    REQUIRE_MESSAGE(server, error);

    // Another client asks again and again the whole time, each time on a new connection.
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    auto others = in_background([&] {
        auto slowest = Clock::duration::zero();
        while (!stop) {
            const auto start = Clock::now();
            const auto answers = ask(path, {{{"cmd", "ping"}}});
            if (answers != std::vector<json>{{{"ok", true}, {"echo", {{"cmd", "ping"}}}}}) return json(answers).dump();
            slowest = std::max(slowest, Clock::now() - start);
            ++answered;
        }
        return "slowest answer: " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()) + " ms";
    });

    auto client = ControlClient::connect(path, error);
    REQUIRE_MESSAGE(client, error);
    REQUIRE(client->send({{"cmd", "follow"}}));  // and never reads
    REQUIRE(pump(io, [&] { return on_close_calls == 1; }));
    CHECK(refused);
    CHECK_FALSE(follower->open());
    // Bounded: what went out is the 1 MiB budget plus what the kernel's buffers took.
    CHECK(sent * 1000 > 1024 * 1024);
    CHECK(sent * 1000 < 8 * 1024 * 1024);

    const int before = answered;
    REQUIRE(pump(io, [&] { return answered >= before + 3 || ready(others); }));
    stop = true;
    REQUIRE(pump(io, [&] { return ready(others); }));
    const std::string outcome = others.get();
    INFO(outcome);
    REQUIRE(outcome.rfind("slowest answer: ", 0) == 0);
    CHECK(std::stoi(outcome.substr(16)) < 2000);

    // The dropped client finds what the kernel held for it, then the end.
    const auto lines = read_to_end(*client);
    CHECK(lines.front() == json{{"ok", true}});
    CHECK(lines.back() == json("the instance closed the connection"));
    CHECK(on_close_calls == 1);
}

TEST_CASE("a silent client is closed after the idle timeout, a subscriber is kept") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    ControlLimits limits;
    limits.idle_timeout = 200ms;
    std::shared_ptr<ControlSession> subscriber;
    auto handler = [&](const json&, std::shared_ptr<ControlSession> session) {
        session->subscribe([] {});
        session->send({{"ok", true}});
        subscriber = session;
    };
    std::string error;
    auto server = ControlServer::open(io, path, handler, error, limits);
    REQUIRE_MESSAGE(server, error);

    auto sub = ControlClient::connect(path, error);
    REQUIRE_MESSAGE(sub, error);
    REQUIRE(sub->send({{"cmd", "subscribe"}}));
    REQUIRE(pump(io, [&] { return subscriber != nullptr; }));

    const auto start = Clock::now();
    RawClient silent(path);
    REQUIRE(silent.connected());
    auto end = in_background([&] { return silent.line(); });
    REQUIRE(pump(io, [&] { return ready(end); }));
    const auto waited = Clock::now() - start;
    CHECK(end.get() == "<closed>");
    CHECK(waited >= 150ms);
    CHECK(waited < 5s);

    pump_for(io, 600ms);  // three more idle timeouts
    CHECK(subscriber->open());
    CHECK(server->sessions() == 1);
    CHECK(subscriber->send({{"event", "late"}}));
    auto lines = in_background([&] {
        std::vector<json> got;
        std::string e;
        for (int i = 0; i < 2; ++i) {
            auto line = sub->receive(10s, e);
            got.push_back(line ? *line : json(e));
        }
        return got;
    });
    REQUIRE(pump(io, [&] { return ready(lines); }));
    CHECK(lines.get() == std::vector<json>{{{"ok", true}}, {{"event", "late"}}});
}

TEST_CASE("connections over the limit get an error line and are closed") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    ControlLimits limits;
    limits.max_connections = 2;
    std::string error;
    auto server = ControlServer::open(io, path, echo, error, limits);
    REQUIRE_MESSAGE(server, error);

    auto first = ControlClient::connect(path, error);
    auto second = ControlClient::connect(path, error);
    REQUIRE((first && second));
    REQUIRE(pump(io, [&] { return server->sessions() == 2; }));

    RawClient third(path);
    REQUIRE(third.connected());
    auto lines = in_background([&] { return std::vector<std::string>{third.line(), third.line()}; });
    REQUIRE(pump(io, [&] { return ready(lines); }));
    CHECK(lines.get() == std::vector<std::string>{R"j({"error":"too many connections (2)","ok":false})j", "<closed>"});

    first.reset();
    REQUIRE(pump(io, [&] { return server->sessions() == 1; }));
    CHECK(ask_while_serving(io, path, {{{"cmd", "ping"}}}) ==
          std::vector<json>{{{"ok", true}, {"echo", {{"cmd", "ping"}}}}});
}

TEST_CASE("a refusal is read and reported even when sending the request failed") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    ControlLimits limits;
    limits.max_connections = 1;
    std::string error;
    auto server = ControlServer::open(io, path, echo, error, limits);
    REQUIRE_MESSAGE(server, error);
    auto first = ControlClient::connect(path, error);
    REQUIRE(first);
    REQUIRE(pump(io, [&] { return server->sessions() == 1; }));

    auto refused = ControlClient::connect(path, error);
    REQUIRE(refused);
    // The server refuses and closes before the client sends anything.
    pump_for(io, 200ms);
    CHECK(refused->send({{"cmd", "status"}}));
    auto answer = refused->receive(10s, error);
    INFO(error);
    REQUIRE(answer);
    CHECK(*answer == json{{"ok", false}, {"error", "too many connections (1)"}});
}

TEST_CASE("closing the control server ends its sessions and removes the socket file") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    std::string error;
    auto server = ControlServer::open(io, path, echo, error);
    REQUIRE_MESSAGE(server, error);
    auto client = ControlClient::connect(path, error);
    REQUIRE_MESSAGE(client, error);
    REQUIRE(pump(io, [&] { return server->sessions() == 1; }));

    server.reset();
    CHECK_FALSE(fs::exists(fs::symlink_status(path)));
    CHECK(read_to_end(*client) == std::vector<json>{json("the instance closed the connection")});

    server = ControlServer::open(io, path, echo, error);  // the path is free again
    CHECK_MESSAGE(server, error);
}

TEST_CASE("a subscriber's on_close runs once, after its client left") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    int calls = 0;
    std::shared_ptr<ControlSession> subscriber;
    auto handler = [&](const json&, std::shared_ptr<ControlSession> session) {
        session->subscribe([&] { ++calls; });
        session->send({{"ok", true}});
        subscriber = session;
    };
    std::string error;
    auto server = ControlServer::open(io, path, handler, error);
    REQUIRE_MESSAGE(server, error);
    {
        auto client = ControlClient::connect(path, error);
        REQUIRE_MESSAGE(client, error);
        REQUIRE(client->send({{"cmd", "subscribe"}}));
        REQUIRE(pump(io, [&] { return subscriber != nullptr; }));
        CHECK(calls == 0);
    }
    REQUIRE(pump(io, [&] { return calls == 1; }));
    CHECK_FALSE(subscriber->open());
    CHECK_FALSE(subscriber->send({{"event", "too late"}}));
    subscriber->close();
    pump_for(io, 100ms);
    CHECK(calls == 1);
    CHECK(server->sessions() == 0);

    // Subscribing too late, to a session that has ended, is told at once.
    bool late = false;
    subscriber->subscribe([&] { late = true; });
    CHECK_FALSE(late);  // posted, not from inside subscribe()
    REQUIRE(pump(io, [&] { return late; }));
    CHECK(calls == 1);
}

TEST_CASE("a handler's exception answers internal error, closes that session and goes on out of the loop") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    auto handler = [](const json& request, std::shared_ptr<ControlSession> session) {
        if (request.value("cmd", "") == "fail") throw std::runtime_error("boom");
        echo(request, session);
    };
    std::string error;
    auto server = ControlServer::open(io, path, handler, error);
    REQUIRE_MESSAGE(server, error);

    auto lines = in_background([&] {
        RawClient client(path);
        client.write("{\"cmd\":\"fail\"}\n{\"cmd\":\"ping\"}\n");
        return std::vector<std::string>{client.line(), client.line()};
    });
    std::string thrown;
    const auto deadline = Clock::now() + kDeadline;
    while (!ready(lines) && Clock::now() < deadline) {
        try {
            pump(io, [&] { return ready(lines); });
        } catch (const std::runtime_error& e) {
            thrown = e.what();
        }
    }
    REQUIRE(ready(lines));
    CHECK(thrown == "boom");
    CHECK(lines.get() == std::vector<std::string>{R"({"error":"internal error: boom","ok":false})", "<closed>"});
    CHECK(ask_while_serving(io, path, {{{"cmd", "ping"}}}) ==
          std::vector<json>{{{"ok", true}, {"echo", {{"cmd", "ping"}}}}});
}

TEST_CASE("the client gives up on an answer at its timeout") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    std::string error;
    auto server = ControlServer::open(
        io, path, [](const json&, std::shared_ptr<ControlSession>) {}, error);
    REQUIRE_MESSAGE(server, error);
    auto client = ControlClient::connect(path, error);
    REQUIRE_MESSAGE(client, error);
    REQUIRE(client->send({{"cmd", "never answered"}}));
    auto outcome = in_background([&] {
        const auto start = Clock::now();
        std::string e;
        const auto answer = client->receive(200ms, e);
        return std::make_pair(answer.has_value() ? std::string("an answer") : e, Clock::now() - start);
    });
    REQUIRE(pump(io, [&] { return ready(outcome); }));
    const auto [what, waited] = outcome.get();
    CHECK(what == "no answer within 200 ms");
    CHECK(waited >= 200ms);
    CHECK(waited < 5s);
}

TEST_CASE("a client of another uid gets permission denied and is closed, checked by SO_PEERCRED") {
    if (::geteuid() != 0) {
        MESSAGE("skipped: connecting as another uid needs root");
        return;
    }
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    std::string error;
    int handled = 0;
    auto server = ControlServer::open(
        io, path, [&](const json&, std::shared_ptr<ControlSession>) { ++handled; }, error);
    REQUIRE_MESSAGE(server, error);
    // Let uid 65534 reach the socket, so that only the peer check stands in its way.
    fs::permissions(dir.path, fs::perms(0755));
    fs::permissions(path, fs::perms(0666));

    const int code = as_nobody(io, [&] {
        std::string e;
        auto client = ControlClient::connect(path, e);
        if (!client) return 1;
        client->send({{"cmd", "stop"}});
        const auto line = client->receive(10s, e);
        if (!line || *line != json{{"ok", false}, {"error", "permission denied: uid 65534"}}) return 2;
        if (client->receive(10s, e) || e != "the instance closed the connection") return 3;
        return 0;
    });
    if (code == kCannotSwitch) {
        MESSAGE("skipped: cannot become uid 65534 on this machine");
        return;
    }
    if (code == 1) {  // the socket cannot be reached at all as uid 65534: nothing for the peer check to refuse
        MESSAGE("skipped: uid 65534 cannot connect to " << path.string() << " on this machine");
        return;
    }
    CHECK(code == 0);
    CHECK(handled == 0);
    CHECK(server->sessions() == 0);
}

TEST_CASE("the client tells permission denied from no instance") {
    if (::geteuid() != 0) {
        MESSAGE("skipped: connecting as another uid needs root");
        return;
    }
    TempDir dir;
    asio::io_context io;
    const auto path = dir.path / "control.sock";
    std::string error;
    auto server = ControlServer::open(io, path, echo, error);
    REQUIRE_MESSAGE(server, error);
    fs::permissions(dir.path, fs::perms(0755));  // the socket itself stays 0600

    const int code = as_nobody(io, [&] {
        std::string e;
        ConnectFailure failure = ConnectFailure::other;
        if (ControlClient::connect(path, e, &failure)) return 1;
        if (failure != ConnectFailure::permission_denied) return 2;
        if (e != "permission denied: " + path.string()) return 3;
        return 0;
    });
    if (code == kCannotSwitch) {
        MESSAGE("skipped: cannot become uid 65534 on this machine");
        return;
    }
    CHECK(code == 0);
}
