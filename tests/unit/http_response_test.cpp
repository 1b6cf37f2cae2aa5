#include "runtime/http_response.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <limits>
#include <optional>
#include <string>

using namespace mainstay::runtime;
using mainstay::config::StatusRange;

namespace {

const StatusRange k2xx3xx{200, 399};

HttpVerdict check(const std::string& bytes, std::optional<std::string> contains = std::nullopt, bool head = false,
                  std::size_t chunk = std::numeric_limits<std::size_t>::max()) {
    return check_http_response(bytes, head, k2xx3xx, contains, chunk);
}

}  // namespace

TEST_CASE("http response: a status in range is healthy, whatever the chunks") {
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
    for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{1000}}) {
        const auto v = check(ok, "ok", false, chunk);
        CHECK(v.healthy);
        CHECK(v.detail == "HTTP 200");
    }
}

TEST_CASE("http response: the failures the probe reports") {
    CHECK(check("HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n").detail == "HTTP 503 (expected 200-399)");
    CHECK(check("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno", "ok").detail == "body does not contain \"ok\"");
    CHECK(check("").detail == "read: connection closed before a response");
    CHECK(check("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").detail ==
          "read: connection closed in the middle of the response");
    CHECK(check("HTTP/1.1 200 OK\r\nContent-Length: 10").detail ==
          "read: connection closed in the middle of the response");
    CHECK(check("SSH-2.0-OpenSSH_9.2\r\n").detail.rfind("read: ", 0) == 0);
    CHECK_FALSE(check("SSH-2.0-OpenSSH_9.2\r\n").healthy);
}

TEST_CASE("http response: a body until the server closes, chunked bodies, HEAD") {
    CHECK(check("HTTP/1.0 200 OK\r\n\r\nall of it, ok", "ok").healthy);
    CHECK(check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", "ok", false, 3).healthy);
    const auto head = check("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", std::nullopt, true);
    CHECK(head.healthy);
}

TEST_CASE("http response: the limits of the probe") {
    const std::string big_body(kHttpProbeBodyLimit + 1, 'x');
    CHECK(
        check("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big_body.size()) + "\r\n\r\n" + big_body).detail ==
        "response body too large (over 1 MiB)");
    const std::string big_header = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(kHttpProbeHeaderLimit, 'h') + "\r\n\r\n";
    CHECK(check(big_header).detail == "read: response header too large");
    CHECK(check(big_header, std::nullopt, false, 4096).detail == "read: response header too large");
}

// Found by fuzz/http_response_fuzz.cpp (corpus/http_response/lf-only): Beast takes bare LF
// line ends at once as a malformed start line, and in pieces as a header still to come. The
// probe fails either way; only the message differs.
TEST_CASE("http response: bare LF line ends are unhealthy however they arrive") {
    const std::string lf = "HTTP/1.1 200 OK\nContent-Length: 2\n\nok";
    CHECK(check(lf).detail == "read: bad reason");
    CHECK_FALSE(check(lf, std::nullopt, false, 1).healthy);
    CHECK_FALSE(check(lf, std::nullopt, false, 5).healthy);
}
