// The control socket's server (serve/control_server) and the command line's client
// (cli/control_client) on real unix sockets in a temporary directory. The server's loop runs in
// the test thread until a condition holds; a client that waits for an answer runs on a thread
// of its own. Deadlines are generous; nothing sleeps as a check.
#include <doctest/doctest.h>

#include "integration/control_support.hpp"

using namespace control_support;

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
