// The status endpoint's transport (SPEC §2 `status.http`): a small HTTP/1.1 server for GET and
// HEAD requests (Boost.Beast). It knows nothing about services: the daemon hands it a Handler
// that maps a request (method, path, query) to a response (status, content type, body).
//
// Runs on the caller's io_context (mainstay's one event-loop thread) and never blocks it. Every
// connection is bounded, so a slow, silent or hostile client costs a little memory for a
// little while and nothing else:
//   - methods other than GET and HEAD get 405 with `Allow: GET, HEAD` (the handler is not
//     called); a request that does not parse gets 400, headers over `header_limit` 431, a body
//     over `body_limit` 413, and the connection is closed after each of these;
//   - the whole request (from the moment the server waits for it, so the idle time between
//     keep-alive requests too) must arrive within `request_timeout` (5 s), and each response
//     must be written within `write_timeout`, or the connection is closed;
//   - keep-alive is honoured for up to `max_requests_per_connection` requests, the last one is
//     answered with `Connection: close`;
//   - at most `max_connections` connections, and `max_connections_per_peer` from one address.
//     A newcomer past either limit takes the slot of the connection (of that peer, or of all)
//     that has waited longest for its request: slow or idle clients can hold slots only until
//     someone else needs one, so a liveness check (`/healthz`) is always served. Only when
//     every such connection is busy being answered does the newcomer get a 503, written
//     without waiting, and is closed at once.
// A HEAD response carries the Content-Length the GET body would have, and no body.
//
// A Handler's exception: the client gets 500 and the connection is closed, and the exception
// goes on out of io_context::run() to the caller's exception boundary (runtime/run.cpp).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace mainstay::serve {

struct HttpRequest {
    std::string method;  // "GET" or "HEAD"
    std::string target;  // the path, as sent (no percent-decoding): "/status"
    std::string query;   // what followed the '?', as sent, without it: "" when none
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

struct HttpLimits {
    std::size_t max_connections = 32;
    std::size_t max_connections_per_peer = 16;
    std::size_t header_limit = 8 * 1024;  // bytes of the request line and headers
    std::size_t body_limit = 1024;        // bytes of a request body (GET and HEAD should have none)
    unsigned max_requests_per_connection = 100;
    std::chrono::milliseconds request_timeout{5'000};
    std::chrono::milliseconds write_timeout{10'000};
};

class HttpServer {
public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    // Listens on host:port (port 0: any free port, see port()), or returns nullptr and says why
    // in `error` ("cannot listen on 127.0.0.1:9077: address already in use"); never throws for an
    // operating-system failure. `host` is an IPv4 or IPv6 address (brackets allowed), or
    // "localhost" for 127.0.0.1; names are not resolved (that would block). The server must be
    // destroyed before `io`.
    static std::unique_ptr<HttpServer> open(boost::asio::io_context& io, const std::string& host, std::uint16_t port,
                                            Handler handler, std::string& error, HttpLimits limits = {});

    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Stops accepting and closes every connection. Idempotent.
    void close();

    // The port listened on (the one chosen by the system when 0 was asked for).
    std::uint16_t port() const;
    // Connections currently open.
    std::size_t connections() const;

    struct Core;  // the state shared with the connections (defined in the .cpp)

private:
    explicit HttpServer(std::shared_ptr<Core> core);
    std::shared_ptr<Core> core_;
};

}  // namespace mainstay::serve
