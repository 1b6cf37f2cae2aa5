// The HTTP endpoint's server (report/http_server) on 127.0.0.1 with port 0, with raw TCP clients:
// what they send is exactly what the server gets, garbage included. The server's loop runs in
// the test thread until a condition holds; a client that waits for an answer runs on a thread
// of its own. Deadlines are generous; nothing sleeps as a check.
#include "serve/http_server.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "integration/serve_support.hpp"

namespace {

namespace asio = boost::asio;
using mainstay::serve::HttpLimits;
using mainstay::serve::HttpRequest;
using mainstay::serve::HttpResponse;
using mainstay::serve::HttpServer;
using namespace mainstay::testing;

// A TCP connection to 127.0.0.1:port.
class TcpClient {
public:
    explicit TcpClient(std::uint16_t port, int receive_buffer = 0)
        : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    ~TcpClient() { ::close(fd_); }
    TcpClient(const TcpClient&) = delete;
    TcpClient& operator=(const TcpClient&) = delete;

    bool connected() const { return connected_; }

    bool write(const std::string& bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n <= 0) return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    }

    // Everything until the server closes the connection (a reset counts as closed), with
    // "<timeout>" appended if it did not within `limit`.
    std::string read_to_end(std::chrono::milliseconds limit = 10s) {
        const auto deadline = Clock::now() + limit;
        std::string got;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            pollfd p{fd_, POLLIN, 0};
            if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return got + "<timeout>";
            char chunk[16384];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) return got;
            got.append(chunk, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_;
    bool connected_{false};
};

// Sends `request` on a new connection and reads until the server closes it, from another
// thread while the server's loop runs here.
std::string exchange(asio::io_context& io, std::uint16_t port, std::string request) {
    auto reply = in_background([=] {
        TcpClient client(port);
        if (!client.connected() || !client.write(request)) return std::string("<no connection>");
        return client.read_to_end();
    });
    REQUIRE(pump(io, [&] { return ready(reply); }));
    return reply.get();
}

std::string get(const std::string& target) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

std::string body_of(const std::string& response) {
    const auto end = response.find("\r\n\r\n");
    return end == std::string::npos ? "<no end of headers>" : response.substr(end + 4);
}

int count(const std::string& text, const std::string& part) {
    int n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
    return n;
}

HttpResponse ok(const HttpRequest&) {
    return {200, "text/plain; charset=utf-8", "ok\n"};
}

}  // namespace

TEST_CASE("GET gets the handler's response, HEAD its headers without the body") {
    asio::io_context io;
    HttpRequest seen;
    auto handler = [&](const HttpRequest& request) {
        seen = request;
        return HttpResponse{200, "application/json", R"({"mode":"full"})"};
    };
    std::string error;
    auto server = HttpServer::open(io, "127.0.0.1", 0, handler, error);
    REQUIRE_MESSAGE(server, error);
    REQUIRE(server->port() != 0);

    const auto reply = exchange(io, server->port(), get("/status?since=5m&x=1"));
    CHECK(starts_with(reply, "HTTP/1.1 200 OK\r\n"));
    CHECK(contains(reply, "Content-Type: application/json\r\n"));
    CHECK(contains(reply, "Content-Length: 15\r\n"));
    CHECK(body_of(reply) == R"({"mode":"full"})");
    CHECK(seen.method == "GET");
    CHECK(seen.target == "/status");
    CHECK(seen.query == "since=5m&x=1");

    const auto head = exchange(io, server->port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(starts_with(head, "HTTP/1.1 200 OK\r\n"));
    CHECK(contains(head, "Content-Length: 15\r\n"));
    CHECK(body_of(head).empty());
    CHECK(seen.method == "HEAD");
    CHECK(seen.target == "/healthz");
    CHECK(seen.query.empty());
}

TEST_CASE("the handler's 404 reaches the client") {
    asio::io_context io;
    auto handler = [](const HttpRequest& r) {
        return r.target == "/status" ? HttpResponse{200, "text/plain", "fine\n"}
                                     : HttpResponse{404, "text/plain", "not found\n"};
    };
    std::string error;
    auto server = HttpServer::open(io, "127.0.0.1", 0, handler, error);
    REQUIRE_MESSAGE(server, error);
    const auto reply = exchange(io, server->port(), get("/nothing-here"));
    CHECK(starts_with(reply, "HTTP/1.1 404 Not Found\r\n"));
    CHECK(body_of(reply) == "not found\n");
}

TEST_CASE("POST gets 405 with Allow, never reaches the handler, and the connection goes on") {
    asio::io_context io;
    int calls = 0;
    std::string error;
    auto server = HttpServer::open(
        io, "127.0.0.1", 0,
        [&](const HttpRequest& r) {
            ++calls;
            return ok(r);
        },
        error);
    REQUIRE_MESSAGE(server, error);
    const auto reply = exchange(io, server->port(),
                                "POST /stop HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnow!" + get("/status"));
    CHECK(starts_with(reply, "HTTP/1.1 405 Method Not Allowed\r\n"));
    CHECK(contains(reply, "Allow: GET, HEAD\r\n"));
    CHECK(contains(reply, "HTTP/1.1 200 OK\r\n"));  // the next request on the same connection
    CHECK(calls == 1);
}

TEST_CASE("a request that does not parse gets 400 and the connection is closed") {
    asio::io_context io;
    int calls = 0;
    std::string error;
    auto server = HttpServer::open(
        io, "127.0.0.1", 0,
        [&](const HttpRequest& r) {
            ++calls;
            return ok(r);
        },
        error);
    REQUIRE_MESSAGE(server, error);
    const auto reply = exchange(io, server->port(), std::string("\x01\x02 garbage\r\n\r\n") + get("/status"));
    CHECK(starts_with(reply, "HTTP/1.1 400 Bad Request\r\n"));
    CHECK(contains(reply, "Connection: close\r\n"));
    CHECK_FALSE(contains(reply, "200 OK"));
    CHECK(calls == 0);
}

TEST_CASE("a body over 1 KiB gets 413, headers over 8 KiB get 431, a small body is accepted") {
    asio::io_context io;
    std::string error;
    auto server = HttpServer::open(io, "127.0.0.1", 0, ok, error);
    REQUIRE_MESSAGE(server, error);
    const auto port = server->port();

    const auto big_body =
        exchange(io, port, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'b'));
    CHECK(starts_with(big_body, "HTTP/1.1 413 Payload Too Large\r\n"));

    const auto big_header =
        exchange(io, port, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'h') + "\r\n\r\n");
    CHECK(starts_with(big_header, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));

    const auto small_body = exchange(
        io, port,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100\r\n\r\n" + std::string(100, 's'));
    CHECK(starts_with(small_body, "HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("a client that connects and sends nothing is closed after the request timeout") {
    asio::io_context io;
    HttpLimits limits;
    limits.request_timeout = 200ms;
    std::string error;
    auto server = HttpServer::open(io, "127.0.0.1", 0, ok, error, limits);
    REQUIRE_MESSAGE(server, error);

    const auto start = Clock::now();
    auto silent = std::make_shared<TcpClient>(server->port());
    REQUIRE(silent->connected());
    auto end = in_background([=] { return silent->read_to_end(); });
    REQUIRE(pump(io, [&] { return ready(end); }));
    const auto waited = Clock::now() - start;
    CHECK(end.get().empty());
    CHECK(waited >= 150ms);
    CHECK(waited < 5s);
    CHECK(server->connections() == 0);

    // Half a request, then nothing: the same.
    const auto half = exchange(io, server->port(), "GET /status HTTP/1.1\r\nHost: x\r\n");
    CHECK(half.empty());
}

TEST_CASE("keep-alive serves several requests on one connection, up to the limit") {
    asio::io_context io;
    HttpLimits limits;
    limits.max_requests_per_connection = 2;
    int calls = 0;
    std::string error;
    auto server = HttpServer::open(
        io, "127.0.0.1", 0,
        [&](const HttpRequest& r) {
            ++calls;
            return ok(r);
        },
        error, limits);
    REQUIRE_MESSAGE(server, error);

    const std::string request = "GET /status HTTP/1.1\r\nHost: x\r\n\r\n";
    const auto reply = exchange(io, server->port(), request + request + request);
    CHECK(count(reply, "HTTP/1.1 200 OK\r\n") == 2);
    CHECK(count(reply, "Connection: close\r\n") == 1);
    const auto second = reply.find("HTTP/1.1 200 OK\r\n", 1);
    REQUIRE(second != std::string::npos);
    CHECK(contains(reply.substr(second), "Connection: close\r\n"));
    CHECK(calls == 2);
}

TEST_CASE("over the limit, a newcomer takes the slot of the connection that waited longest for its request") {
    asio::io_context io;
    HttpLimits limits;
    limits.max_connections = 2;
    std::string error;
    auto server = HttpServer::open(io, "127.0.0.1", 0, ok, error, limits);
    REQUIRE_MESSAGE(server, error);

    TcpClient first(server->port());
    REQUIRE(first.connected());
    REQUIRE(pump(io, [&] { return server->connections() == 1; }));
    TcpClient second(server->port());
    REQUIRE(second.connected());
    REQUIRE(pump(io, [&] { return server->connections() == 2; }));

    CHECK(starts_with(exchange(io, server->port(), get("/status")), "HTTP/1.1 200 OK\r\n"));
    // The first (the oldest silent one) was closed for it; the second still waits.
    CHECK(first.read_to_end(1s).empty());
    CHECK(server->connections() == 1);
    CHECK(second.write(get("/status")));
    auto reply = in_background([&] { return second.read_to_end(); });
    REQUIRE(pump(io, [&] { return ready(reply); }));
    CHECK(starts_with(reply.get(), "HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("over the limit from one address, the newcomer takes that address's oldest waiting slot") {
    asio::io_context io;
    HttpLimits limits;
    limits.max_connections = 10;
    limits.max_connections_per_peer = 1;
    std::string error;
    auto server = HttpServer::open(io, "127.0.0.1", 0, ok, error, limits);
    REQUIRE_MESSAGE(server, error);
    TcpClient silent(server->port());
    REQUIRE(silent.connected());
    REQUIRE(pump(io, [&] { return server->connections() == 1; }));
    CHECK(starts_with(exchange(io, server->port(), get("/status")), "HTTP/1.1 200 OK\r\n"));
    CHECK(silent.read_to_end(1s).empty());
}

TEST_CASE("when every connection is busy being answered, one more is refused at once") {
    asio::io_context io;
    HttpLimits limits;
    limits.max_connections = 2;
    std::string error;
    int calls = 0;
    // A response far bigger than the socket buffers of clients that do not read: each stays
    // in the middle of its answer (until the write timeout).
    auto big = [&](const HttpRequest&) {
        ++calls;
        return HttpResponse{200, "text/plain; charset=utf-8", std::string(32 << 20, 'x')};
    };
    auto server = HttpServer::open(io, "127.0.0.1", 0, big, error, limits);
    REQUIRE_MESSAGE(server, error);
    TcpClient first(server->port(), 4096);
    TcpClient second(server->port(), 4096);
    REQUIRE((first.connected() && second.connected()));
    REQUIRE((first.write(get("/big")) && second.write(get("/big"))));
    REQUIRE(pump(io, [&] { return calls == 2; }));

    const auto refused = exchange(io, server->port(), get("/status"));
    INFO(refused);
    CHECK((refused.empty() || starts_with(refused, "HTTP/1.1 503 Service Unavailable\r\n")));
    CHECK_FALSE(contains(refused, "200 OK"));
    CHECK(server->connections() == 2);
    CHECK(calls == 2);
}

TEST_CASE("a port in use or a host that is not an address is an error string") {
    asio::io_context io;
    std::string error;
    auto first = HttpServer::open(io, "127.0.0.1", 0, ok, error);
    REQUIRE_MESSAGE(first, error);
    const auto port = first->port();

    CHECK_FALSE(HttpServer::open(io, "127.0.0.1", port, ok, error));
    CHECK(error == "cannot listen on 127.0.0.1:" + std::to_string(port) + ": address already in use");

    CHECK_FALSE(HttpServer::open(io, "status.example.org", 9077, ok, error));
    CHECK(error == "cannot listen on status.example.org:9077: not an IP address: status.example.org");

    auto local = HttpServer::open(io, "localhost", 0, ok, error);
    REQUIRE_MESSAGE(local, error);
    CHECK(starts_with(exchange(io, local->port(), get("/")), "HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("a client that does not read a big response is dropped at the write timeout, the others are served") {
    asio::io_context io;
    HttpLimits limits;
    limits.write_timeout = 300ms;
    auto handler = [](const HttpRequest& r) {
        if (r.target == "/big") return HttpResponse{200, "text/plain", std::string(32 * 1024 * 1024, 'x')};
        return ok(r);
    };
    std::string error;
    auto server = HttpServer::open(io, "127.0.0.1", 0, handler, error, limits);
    REQUIRE_MESSAGE(server, error);
    const auto port = server->port();

    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    auto others = in_background([&] {
        auto slowest = Clock::duration::zero();
        while (!stop) {
            const auto start = Clock::now();
            TcpClient client(port);
            if (!client.connected() || !client.write(get("/status"))) return std::string("no connection");
            const auto reply = client.read_to_end();
            if (!starts_with(reply, "HTTP/1.1 200 OK\r\n")) return "unexpected: " + reply.substr(0, 200);
            slowest = std::max(slowest, Clock::now() - start);
            ++answered;
        }
        return "slowest answer: " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()) + " ms";
    });

    TcpClient reluctant(port, 4096);
    REQUIRE(reluctant.connected());
    REQUIRE(reluctant.write(get("/big")));  // and never reads
    REQUIRE(pump(io, [&] { return answered >= 3; }));
    // One connection for the big response (the others come and go) until it is dropped.
    const auto start = Clock::now();
    bool dropped = false;
    REQUIRE(pump(io, [&] {
        stop = true;
        return (dropped = ready(others) && server->connections() == 0);
    }));
    CHECK(dropped);
    CHECK(Clock::now() - start < 5s);
    const std::string outcome = others.get();
    INFO(outcome);
    REQUIRE(starts_with(outcome, "slowest answer: "));
    CHECK(std::stoi(outcome.substr(16)) < 2000);
    // What it finally reads is cut short: the connection was closed in the middle.
    const auto cut = reluctant.read_to_end();
    CHECK(cut.size() < 32u * 1024 * 1024);
}

TEST_CASE("a handler's exception answers 500 and goes on out of the loop") {
    asio::io_context io;
    auto handler = [](const HttpRequest& r) -> HttpResponse {
        if (r.target == "/fail") throw std::runtime_error("boom");
        return ok(r);
    };
    std::string error;
    auto server = HttpServer::open(io, "127.0.0.1", 0, handler, error);
    REQUIRE_MESSAGE(server, error);

    auto reply = in_background([port = server->port()] {
        TcpClient client(port);
        client.write(get("/fail"));
        return client.read_to_end();
    });
    std::string thrown;
    const auto deadline = Clock::now() + kDeadline;
    while (!ready(reply) && Clock::now() < deadline) {
        try {
            pump(io, [&] { return ready(reply); });
        } catch (const std::runtime_error& e) {
            thrown = e.what();
        }
    }
    REQUIRE(ready(reply));
    CHECK(thrown == "boom");
    CHECK(starts_with(reply.get(), "HTTP/1.1 500 Internal Server Error\r\n"));
    CHECK(starts_with(exchange(io, server->port(), get("/status")), "HTTP/1.1 200 OK\r\n"));
}
