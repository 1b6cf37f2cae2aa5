// The control socket's server and the command line's client, part two (see
// control_server_test.cpp): limits, refusals, closing, subscribers, handler exceptions,
// timeouts and the peer check.
#include <doctest/doctest.h>

#include "integration/control_support.hpp"

using namespace control_support;
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
