// Probes on real sockets and processes, part two (see probe_test.cpp): cancelling, the http
// probe's answers, name lookups.
#include <doctest/doctest.h>

#include "integration/probe_support.hpp"

using namespace probe_support;
TEST_CASE("http probe: HEAD reads no body even with a Content-Length") {
    TempDir dir;
    ServiceOnPort svc(dir, {"--http"});  // HEAD: Content-Length: 3, no body, then close
    asio::io_context io;
    auto spec = http_spec(svc.port);
    spec.method = "HEAD";
    Outcome out;
    auto probe = mainstay::runtime::start_http_probe(io, spec, kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    INFO(out.result.detail);
    CHECK(out.result.ok);
    CHECK(out.result.detail == "HTTP 200");
}

TEST_CASE("http probe: the request carries the method, target, Host, User-Agent, Connection and custom headers") {
    asio::io_context io;
    CannedServer server(io, response("200 OK", "fine\n"));
    auto spec = http_spec(server.port(), "/health?x=1");
    spec.method = "HEAD";
    spec.headers = {{"X-Probe", "yes"}, {"Authorization", "Bearer abc"}};
    Outcome out;
    auto probe = mainstay::runtime::start_http_probe(io, spec, kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK(out.result.ok);
    REQUIRE(server.requests.size() == 1);
    const std::string head = lower(server.requests[0]);
    INFO(server.requests[0]);
    CHECK(head.starts_with("head /health?x=1 http/1.1\r\n"));
    CHECK(head.find("\r\nhost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") != std::string::npos);
    CHECK(head.find("\r\nuser-agent: mainstay\r\n") != std::string::npos);
    CHECK(head.find("\r\nconnection: close\r\n") != std::string::npos);
    CHECK(head.find("\r\nx-probe: yes\r\n") != std::string::npos);
    CHECK(head.find("\r\nauthorization: bearer abc\r\n") != std::string::npos);
}

TEST_CASE("http probe: over a unix socket, with the Host from the URL") {
    TempDir dir;
    const auto sock = dir.path / "svc.sock";
    ServiceOnPort svc(dir, {"--http", "--unix-socket", sock.string()});
    asio::io_context io;
    mainstay::config::HttpProbe spec;
    spec.url = "http://localhost/ping";
    spec.target = {"localhost", 80, "/ping"};
    spec.unix_socket = sock;
    spec.body_contains = "OK";
    Outcome out;
    auto probe = mainstay::runtime::start_http_probe(io, spec, kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    INFO(out.result.detail);
    CHECK(out.result.ok);
    CHECK(out.result.detail == "HTTP 200");

    Outcome missing;
    spec.unix_socket = dir.path / "nothing.sock";
    auto p2 = mainstay::runtime::start_http_probe(io, spec, kTimeout, missing.sink());
    REQUIRE(run_until(io, [&] { return missing.reported(); }));
    CHECK(missing.result.detail == "connect: no such file or directory");
}

TEST_CASE("http probe: a request that cannot be made is a failure, reported later, not an exception") {
    asio::io_context io;
    auto spec = http_spec(closed_port());

    Outcome long_path;
    spec.unix_socket = "/tmp/" + std::string(200, 'x');
    auto p1 = mainstay::runtime::start_http_probe(io, spec, kTimeout, long_path.sink());
    CHECK(long_path.calls == 0);
    REQUIRE(run_until(io, [&] { return long_path.reported(); }));
    CHECK_FALSE(long_path.result.ok);
    CHECK(long_path.result.detail.starts_with("connect: unix socket path too long"));

    Outcome huge_header;
    spec.unix_socket.reset();
    spec.headers = {{"X-Big", std::string(70 * 1024, 'b')}};  // Beast would throw on this
    auto p2 = mainstay::runtime::start_http_probe(io, spec, kTimeout, huge_header.sink());
    CHECK(huge_header.calls == 0);
    REQUIRE(run_until(io, [&] { return huge_header.reported(); }));
    CHECK(huge_header.result.detail == "request header too large: X-Big");
}

TEST_CASE("http probe: a peer that never answers times out, and does not delay a parallel probe") {
    TempDir dir;
    ServiceOnPort hang(dir, {"--hang"}, "hang");
    ServiceOnPort fast(dir, {"--http"}, "fast");
    asio::io_context io;
    const auto started = Clock::now();
    Outcome slow_out, fast_out;
    auto slow = mainstay::runtime::start_http_probe(io, http_spec(hang.port), 1500ms, slow_out.sink());
    auto quick = mainstay::runtime::start_http_probe(io, http_spec(fast.port), 1500ms, fast_out.sink());

    REQUIRE(run_until(io, [&] { return fast_out.reported(); }));
    CHECK(fast_out.result.ok);
    CHECK(fast_out.result.duration < 750ms);
    CHECK(Clock::now() - started < 750ms);
    CHECK_FALSE(slow_out.reported());

    REQUIRE(run_until(io, [&] { return slow_out.reported(); }));
    CHECK_FALSE(slow_out.result.ok);
    CHECK(slow_out.result.timed_out);
    CHECK(slow_out.result.detail == "timed out after 1s500ms");
    CHECK(slow_out.result.duration >= 1500ms);
    CHECK(slow_out.result.duration < 5s);
    CHECK(run_dry(io) < 1s);
    CHECK(slow_out.calls == 1);
    CHECK(fast_out.calls == 1);
}

TEST_CASE("http probe: refused, closed without an answer, and a body over 1 MiB are failures") {
    asio::io_context io;

    Outcome refused;
    auto p1 = mainstay::runtime::start_http_probe(io, http_spec(closed_port()), kTimeout, refused.sink());
    REQUIRE(run_until(io, [&] { return refused.reported(); }));
    CHECK(refused.result.detail == "connect: connection refused");

    CannedServer mute(io, "");  // reads the request, answers nothing, closes
    Outcome closed;
    auto p2 = mainstay::runtime::start_http_probe(io, http_spec(mute.port()), kTimeout, closed.sink());
    REQUIRE(run_until(io, [&] { return closed.reported(); }));
    CHECK_FALSE(closed.result.ok);
    CHECK(closed.result.detail == "read: connection closed before a response");

    CannedServer huge(io, response("200 OK", std::string(2 * 1024 * 1024, 'x')));
    Outcome big;
    auto p3 = mainstay::runtime::start_http_probe(io, http_spec(huge.port()), kTimeout, big.sink());
    REQUIRE(run_until(io, [&] { return big.reported(); }));
    CHECK_FALSE(big.result.ok);
    CHECK(big.result.detail.starts_with("response body too large"));

    CannedServer garbage(io, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
    Outcome bad;
    auto p4 = mainstay::runtime::start_http_probe(io, http_spec(garbage.port()), kTimeout, bad.sink());
    REQUIRE(run_until(io, [&] { return bad.reported(); }));
    INFO(bad.result.detail);
    CHECK_FALSE(bad.result.ok);
    CHECK(bad.result.detail.starts_with("read: "));
}

TEST_CASE("a name lookup that never answers does not hold up the end of the event loop") {
    // Asio's resolver thread is joined when its io_context is destroyed: a lookup stuck on an
    // unreachable DNS server delayed mainstay's exit by the resolver's timeout. Here the lookup
    // blocks until the test lets it go, after the io_context is gone.
    auto release = std::make_shared<std::promise<void>>();
    std::shared_future<void> released = release->get_future().share();
    bool answered = false;
    const auto begin = std::chrono::steady_clock::now();
    {
        asio::io_context io;
        mainstay::runtime::lookup(
            io, "stuck.invalid", 80, [&](const mainstay::runtime::Endpoints&, const std::string&) { answered = true; },
            [released](const std::string&, int, std::string& error) {
                released.wait();
                error = "released";
                return mainstay::runtime::Endpoints{};
            });
        io.run_for(std::chrono::milliseconds(50));
    }  // the io_context ends here, with the lookup still running
    CHECK(std::chrono::steady_clock::now() - begin < 2s);
    release->set_value();  // the thread finds the gate closed and drops its answer
    CHECK_FALSE(answered);
}

TEST_CASE("a name lookup answers on the event loop") {
    asio::io_context io;
    std::string error = "not called";
    std::size_t found = 0;
    mainstay::runtime::lookup(
        io, "name", 8080,
        [&](const mainstay::runtime::Endpoints& e, const std::string& err) {
            found = e.size();
            error = err;
        },
        [](const std::string& host, int port, std::string&) {
            CHECK(host == "name");
            return mainstay::runtime::Endpoints{
                {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}};
        });
    REQUIRE(run_until(io, [&] { return error != "not called"; }));
    CHECK(found == 1);
    CHECK(error.empty());
}
