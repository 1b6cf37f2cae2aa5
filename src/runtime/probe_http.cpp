#include "runtime/probe_http.hpp"

#include <sys/un.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <string>
#include <utility>

#include "runtime/http_response.hpp"
#include "runtime/probe_core.hpp"

namespace mainstay::runtime {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;
using UnixSocket = asio::local::stream_protocol::socket;

// The Host header: the URL's host, bracketed when it is an IPv6 literal, and the port unless 80.
std::string host_header(const config::HttpUrl& url) {
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    if (url.port != 80) host += ":" + std::to_string(url.port);
    return host;
}

// Socket is tcp::socket or a unix stream socket; only the connect step differs.
template <class Socket>
class HttpAttempt final : public probe_detail::ProbeCore {
public:
    HttpAttempt(asio::io_context& io, const config::HttpProbe& spec, std::chrono::milliseconds timeout, ProbeDone done)
        : ProbeCore(io, timeout, std::move(done)), spec_(spec), socket_(io) {}

    void begin() {
        arm_deadline();
        if (auto problem = build_request(); !problem.empty()) return fail(std::move(problem));
        connect();
    }

private:
    // "" or why the request cannot be sent.
    std::string build_request() {
        // Beast throws on a header field of 64 KiB or more; refuse it here instead.
        constexpr std::size_t kMaxField = 32 * 1024;
        for (const auto& [name, value] : spec_.headers) {
            if (name.size() > kMaxField || value.size() > kMaxField)
                return "request header too large: " + name.substr(0, 64);
        }
        request_.version(11);
        request_.method_string(spec_.method);
        request_.target(spec_.target.target);
        request_.set(http::field::host, host_header(spec_.target));
        request_.set(http::field::user_agent, "mainstay");
        request_.set(http::field::connection, "close");
        for (const auto& [name, value] : spec_.headers) request_.set(name, value);
        request_.prepare_payload();
        prepare_response_parser(parser_, request_.method() == http::verb::head);
        return {};
    }

    void connect();

    void on_connected(std::string failure) {
        if (!failure.empty()) return fail(std::move(failure));
        http::async_write(socket_, request_, [self = self<HttpAttempt>()](const error_code& ec, std::size_t) {
            if (self->finished()) return;
            if (ec) return self->fail("send: " + probe_detail::describe(ec));
            self->read();
        });
    }

    void read() {
        http::async_read(socket_, buffer_, parser_, [self = self<HttpAttempt>()](const error_code& ec, std::size_t) {
            if (self->finished()) return;
            if (ec) return self->fail(describe_read_failure(ec));
            self->judge();
        });
    }

    void judge() {
        const auto& response = parser_.get();
        auto verdict = judge_http_response(static_cast<int>(response.result_int()), response.body(), spec_.status,
                                           spec_.body_contains, spec_.permanent_status);
        if (verdict.permanent) return fail_permanently(std::move(verdict.detail));
        if (!verdict.healthy) return fail(std::move(verdict.detail));
        succeed(std::move(verdict.detail));
    }

    void abort_io() override {
        error_code ignored;
        socket_.close(ignored);
    }

    config::HttpProbe spec_;
    Socket socket_;
    http::request<http::empty_body> request_;
    HttpResponseParser parser_;
    boost::beast::flat_buffer buffer_;
};

template <>
void HttpAttempt<tcp::socket>::connect() {
    probe_detail::connect_tcp(
        shared_from_this(), socket_, spec_.target.host, spec_.target.port,
        [self = self<HttpAttempt>()](std::string failure) { self->on_connected(std::move(failure)); });
}

template <>
void HttpAttempt<UnixSocket>::connect() {
    const std::string path = spec_.unix_socket->string();
    // The endpoint constructor would throw on a path that does not fit in sockaddr_un.
    if (path.size() >= sizeof(sockaddr_un::sun_path)) return fail("connect: unix socket path too long: " + path);
    socket_.async_connect(asio::local::stream_protocol::endpoint(path),
                          [self = self<HttpAttempt>()](const error_code& ec) {
                              if (self->finished()) return;
                              self->on_connected(ec ? "connect: " + probe_detail::describe(ec) : std::string());
                          });
}

template <class Socket>
std::unique_ptr<ProbeAttempt> start(asio::io_context& io, const config::HttpProbe& spec,
                                    std::chrono::milliseconds timeout, ProbeDone done) {
    auto attempt = std::make_shared<HttpAttempt<Socket>>(io, spec, timeout, std::move(done));
    attempt->begin();
    return probe_detail::make_handle(std::move(attempt));
}

}  // namespace

std::unique_ptr<ProbeAttempt> start_http_probe(asio::io_context& io, const config::HttpProbe& spec,
                                               std::chrono::milliseconds timeout, ProbeDone done) {
    if (spec.unix_socket) return start<UnixSocket>(io, spec, timeout, std::move(done));
    return start<tcp::socket>(io, spec, timeout, std::move(done));
}

}  // namespace mainstay::runtime
