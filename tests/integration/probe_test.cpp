// The tcp and http probes against real sockets on 127.0.0.1: the test-service program and small
// servers written here on the same io_context. The loop runs in the test thread until the
// probe reports, with generous deadlines; nothing sleeps as a check.
#include <doctest/doctest.h>

#include "integration/probe_support.hpp"

using namespace probe_support;

TEST_CASE("tcp probe: a listening port passes") {
    asio::io_context io;
    // Never accepts: the kernel completes the handshake for a listening socket.
    tcp::acceptor listener(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const int port = listener.local_endpoint().port();
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("127.0.0.1", port), kTimeout, out.sink());
    CHECK(out.calls == 0);  // never reported from inside start
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK(out.result.ok);
    CHECK_FALSE(out.result.timed_out);
    CHECK(out.result.detail == "connected to 127.0.0.1:" + std::to_string(port));
    CHECK(out.result.duration < 5s);
    CHECK(run_dry(io, 2s) < 1s);  // the deadline timer was cancelled on success
    CHECK(out.calls == 1);
}

TEST_CASE("tcp probe: a host name is resolved first") {
    std::string why;
    if (!mainstay::testing::resolves("localhost", why)) {
        MESSAGE("skipped: " << why);
        return;
    }
    asio::io_context io;
    tcp::acceptor listener(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("localhost", listener.local_endpoint().port()),
                                                    kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    INFO(out.result.detail);
    CHECK(out.result.ok);
}

TEST_CASE("tcp probe: an IPv6 literal is connected to without the resolver") {
    asio::io_context io;
    boost::system::error_code ec;
    tcp::acceptor listener(io);
    listener.open(tcp::v6(), ec);
    if (!ec) listener.bind(tcp::endpoint(asio::ip::make_address("::1"), 0), ec);
    if (!ec) listener.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        MESSAGE("no IPv6 loopback here (" << ec.message() << "): nothing to check");
        return;
    }
    const int port = listener.local_endpoint().port();
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("::1", port), kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK(out.result.ok);
    CHECK(out.result.detail == "connected to [::1]:" + std::to_string(port));
}

TEST_CASE("tcp probe: a closed port fails with connection refused") {
    asio::io_context io;
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("127.0.0.1", closed_port()), kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK_FALSE(out.result.ok);
    CHECK_FALSE(out.result.timed_out);
    CHECK(out.result.detail == "connect: connection refused");
    CHECK(out.calls == 1);
}

TEST_CASE("tcp probe: a peer that never completes the handshake times out at the timeout") {
    FullBacklog peer;
    asio::io_context io;
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("127.0.0.1", peer.port()), 200ms, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    INFO(out.result.detail);
    CHECK_FALSE(out.result.ok);
    CHECK(out.result.timed_out);
    CHECK(out.result.detail == "timed out after 200ms");
    CHECK(out.result.duration >= 200ms);
    CHECK(out.result.duration < 5s);
    CHECK(run_dry(io, 2s) < 1s);  // the pending connect was aborted
    CHECK(out.calls == 1);
}

TEST_CASE("cancel reports once, with \"cancelled\", and leaves nothing armed") {
    FullBacklog peer;
    asio::io_context io;
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("127.0.0.1", peer.port()), kTimeout, out.sink());
    probe->cancel();
    CHECK(out.calls == 0);  // posted, not called from inside cancel()
    probe->cancel();        // a second cancel changes nothing
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK(out.result.detail == "cancelled");
    CHECK_FALSE(out.result.ok);
    CHECK_FALSE(out.result.timed_out);
    CHECK(out.result.duration < 1s);
    CHECK(run_dry(io) < 1s);  // no deadline left behind: the loop runs dry at once
    CHECK(out.calls == 1);
}

TEST_CASE("cancel during an http exchange reports once, with \"cancelled\"") {
    asio::io_context io;
    CannedServer silent(io, "", false);
    Outcome out;
    auto probe = mainstay::runtime::start_http_probe(io, http_spec(silent.port()), kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return silent.accepted == 1; }));
    probe->cancel();
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK(out.result.detail == "cancelled");
    silent.stop();
    CHECK(run_dry(io) < 1s);
    CHECK(out.calls == 1);
}

TEST_CASE("destroying the handle while the probe is pending never reports") {
    asio::io_context io;
    CannedServer silent(io, "", false);
    Outcome out;
    auto probe = mainstay::runtime::start_http_probe(io, http_spec(silent.port()), 300ms, out.sink());
    REQUIRE(run_until(io, [&] { return silent.accepted == 1; }));
    probe.reset();
    silent.stop();
    CHECK(run_dry(io) < 1s);  // the exchange and its deadline were aborted
    CHECK(out.calls == 0);
}

TEST_CASE("destroying the handle after the report was posted still never reports") {
    asio::io_context io;
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("127.0.0.1", closed_port()), kTimeout, out.sink());
    probe->cancel();  // the report is queued now
    probe.reset();
    CHECK(run_dry(io) < 1s);
    CHECK(out.calls == 0);
}

TEST_CASE("http probe: 200 with the expected text in the body passes, without it fails") {
    TempDir dir;
    ServiceOnPort svc(dir, {"--http"});
    asio::io_context io;
    auto spec = http_spec(svc.port, "/health");

    Outcome pass;
    spec.body_contains = "OK";
    auto p1 = mainstay::runtime::start_http_probe(io, spec, kTimeout, pass.sink());
    REQUIRE(run_until(io, [&] { return pass.reported(); }));
    CHECK(pass.result.ok);
    CHECK(pass.result.detail == "HTTP 200");

    Outcome miss;
    spec.body_contains = "llama";
    auto p2 = mainstay::runtime::start_http_probe(io, spec, kTimeout, miss.sink());
    REQUIRE(run_until(io, [&] { return miss.reported(); }));
    CHECK_FALSE(miss.result.ok);
    CHECK_FALSE(miss.result.timed_out);
    CHECK(miss.result.detail == "body does not contain \"llama\"");
}

TEST_CASE("http probe: 503 fails with the status in the detail, 200 after the service heals") {
    TempDir dir;
    const auto healthy = dir.path / "healthy";
    ServiceOnPort svc(dir, {"--http", "--healthy-file", healthy.string()});
    asio::io_context io;

    Outcome sick;
    auto p1 = mainstay::runtime::start_http_probe(io, http_spec(svc.port), kTimeout, sick.sink());
    REQUIRE(run_until(io, [&] { return sick.reported(); }));
    CHECK_FALSE(sick.result.ok);
    CHECK(sick.result.detail == "HTTP 503 (expected 200-399)");

    std::ofstream(healthy).put('\n');
    Outcome well;
    auto p2 = mainstay::runtime::start_http_probe(io, http_spec(svc.port), kTimeout, well.sink());
    REQUIRE(run_until(io, [&] { return well.reported(); }));
    CHECK(well.result.ok);
    CHECK(well.result.detail == "HTTP 200");
}

TEST_CASE("http probe: the expected status range decides (301 in 200-399, not in 200-299)") {
    asio::io_context io;
    CannedServer moved(io, response("301 Moved Permanently", "elsewhere\n"));
    auto spec = http_spec(moved.port());

    Outcome wide;
    auto p1 = mainstay::runtime::start_http_probe(io, spec, kTimeout, wide.sink());
    REQUIRE(run_until(io, [&] { return wide.reported(); }));
    CHECK(wide.result.ok);
    CHECK(wide.result.detail == "HTTP 301");

    Outcome narrow;
    spec.status = {200, 299};
    auto p2 = mainstay::runtime::start_http_probe(io, spec, kTimeout, narrow.sink());
    REQUIRE(run_until(io, [&] { return narrow.reported(); }));
    CHECK_FALSE(narrow.result.ok);
    CHECK(narrow.result.detail == "HTTP 301 (expected 200-299)");

    Outcome exact;
    spec.status = {204, 204};
    auto p3 = mainstay::runtime::start_http_probe(io, spec, kTimeout, exact.sink());
    REQUIRE(run_until(io, [&] { return exact.reported(); }));
    CHECK(exact.result.detail == "HTTP 301 (expected 204)");
}
