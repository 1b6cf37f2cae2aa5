#include "serve/http_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "config/values.hpp"
#include "serve/accept_loop.hpp"

namespace mainstay::serve {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string describe(const error_code& ec) {
    return config::lowercase_first(ec.message());
}

bool is_parse_error(const error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_target).category();
}

// A connection over the limit: a 503 written without waiting (a fresh socket's send buffer
// always has room for it), then closed.
void refuse(tcp::socket& socket, std::size_t limit) {
    const std::string body = "too many connections (" + std::to_string(limit) + ")\n";
    const std::string text =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body;
    ssize_t ignored = ::send(socket.native_handle(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)ignored;
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
}

class Connection;

}  // namespace

struct HttpServer::Core : std::enable_shared_from_this<HttpServer::Core> {
    Core(asio::io_context& context, Handler h, HttpLimits l)
        : io(context), handler(std::move(h)), limits(l), acceptor(context), pause(context) {}

    void accept();
    void admit(tcp::socket socket);
    void close();

    asio::io_context& io;
    Handler handler;
    HttpLimits limits;
    tcp::acceptor acceptor;
    asio::steady_timer pause;
    std::unordered_set<Connection*> connections;
    std::uint64_t accepted{0};  // numbers the connections in the order they came
    std::uint16_t port{0};
    bool closed{false};
};

namespace {

class Connection final : public std::enable_shared_from_this<Connection> {
public:
    Connection(std::shared_ptr<HttpServer::Core> core, tcp::socket socket, asio::ip::address peer)
        : core_(std::move(core)),
          order_(++core_->accepted),
          peer_(std::move(peer)),
          socket_(std::move(socket)),
          timer_(core_->io),
          // Room for one request at its limits, and a little of a pipelined next one.
          buffer_(core_->limits.header_limit + core_->limits.body_limit + 4096) {
        core_->connections.insert(this);
    }
    ~Connection() { core_->connections.erase(this); }

    void start() { read_request(); }

    // Still waiting for (the rest of) a request: what a slow client holds a slot with. A
    // connection whose request arrived is answered, never dropped for a newcomer.
    bool waiting() const { return waiting_ && !ended_; }
    std::uint64_t order() const { return order_; }
    const asio::ip::address& peer() const { return peer_; }

    void end() {
        if (ended_) return;
        ended_ = true;
        error_code ignored;
        socket_.close(ignored);
        timer_.cancel();
        core_->connections.erase(this);
    }

private:
    std::shared_ptr<Connection> self() { return shared_from_this(); }

    // One deadline at a time: reading a request, or writing its response.
    void arm(std::chrono::milliseconds timeout) {
        timer_.expires_after(timeout);
        timer_.async_wait([self = self()](const error_code& ec) {
            if (!ec) self->end();
        });
    }

    void read_request() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(core_->limits.header_limit));
        parser_->body_limit(core_->limits.body_limit);
        arm(core_->limits.request_timeout);
        waiting_ = true;
        http::async_read(socket_, buffer_, *parser_,
                         [self = self()](const error_code& ec, std::size_t) { self->on_request(ec); });
    }

    void on_request(const error_code& ec) {
        waiting_ = false;
        if (ended_) return;
        if (ec) {
            if (ec == http::error::body_limit) return fail(413, "request body too large");
            if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
                return fail(431, "request header too large");
            }
            // The client closed, between requests or in the middle of one: nobody to answer.
            if (ec == http::error::end_of_stream || ec == http::error::partial_message) return end();
            if (is_parse_error(ec)) return fail(400, "bad request: " + ec.message());
            return end();
        }
        const auto& request = parser_->get();
        version_ = request.version();
        const bool keep = request.keep_alive() && ++served_ < core_->limits.max_requests_per_connection;
        const bool head = request.method() == http::verb::head;
        if (request.method() != http::verb::get && !head) {
            prepare({405, "text/plain; charset=utf-8", "method not allowed\n"}, keep, false);
            response_.set(http::field::allow, "GET, HEAD");
            return transmit(keep);
        }
        HttpRequest call;
        call.method = head ? "HEAD" : "GET";
        const std::string_view target = request.target();
        const auto question = target.find('?');
        call.target = std::string(target.substr(0, question));
        if (question != std::string_view::npos) call.query = std::string(target.substr(question + 1));
        HttpResponse answer;
        try {
            answer = core_->handler(call);
        } catch (const std::exception&) {
            fail(500, "internal error\n");
            throw;
        }
        prepare(std::move(answer), keep, head);
        transmit(keep);
    }

    // Answers and closes: the request was not understood, or the handler failed.
    void fail(int status, std::string body) {
        if (body.empty() || body.back() != '\n') body += '\n';
        prepare({status, "text/plain; charset=utf-8", std::move(body)}, false, false);
        transmit(false);
    }

    void prepare(HttpResponse answer, bool keep, bool head) {
        response_ = {};
        response_.version(version_ == 10 ? 10 : 11);
        response_.result(answer.status >= 100 && answer.status <= 599 ? static_cast<unsigned>(answer.status) : 500u);
        response_.set(http::field::server, "mainstay");
        response_.set(http::field::content_type, answer.content_type);
        response_.set(http::field::cache_control, "no-store");
        response_.body() = std::move(answer.body);
        response_.keep_alive(keep);
        response_.prepare_payload();
        if (head) response_.body().clear();  // Content-Length stays the GET body's
    }

    void transmit(bool keep) {
        arm(core_->limits.write_timeout);
        http::async_write(socket_, response_, [self = self(), keep](const error_code& ec, std::size_t) {
            if (self->ended_) return;
            if (ec || !keep) {
                error_code ignored;
                self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                return self->end();
            }
            self->read_request();
        });
    }

    std::shared_ptr<HttpServer::Core> core_;
    std::uint64_t order_;
    asio::ip::address peer_;
    tcp::socket socket_;
    asio::steady_timer timer_;
    boost::beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    unsigned version_{11};
    unsigned served_{0};
    bool ended_{false};
    bool waiting_{false};
};

// The connection that has waited longest for its request among those `counts`, or null.
template <class Counts>
Connection* oldest_waiting(const std::unordered_set<Connection*>& connections, Counts counts) {
    Connection* oldest = nullptr;
    for (Connection* c : connections) {
        if (c->waiting() && counts(*c) && (!oldest || c->order() < oldest->order())) oldest = c;
    }
    return oldest;
}

}  // namespace

void HttpServer::Core::accept() {
    accept_next(shared_from_this());
}

void HttpServer::Core::admit(tcp::socket socket) {
    set_cloexec(socket.native_handle());
    error_code ec;
    const asio::ip::address peer = socket.remote_endpoint(ec).address();
    if (ec) return;  // gone already
    // Full (for this peer, or in all): the newcomer takes the slot of the connection that has
    // waited longest for its request, so slow clients can never keep a liveness check out.
    // Only when every connection is busy answering is the newcomer refused.
    const std::size_t from_peer = static_cast<std::size_t>(
        std::count_if(connections.begin(), connections.end(), [&](Connection* c) { return c->peer() == peer; }));
    if (from_peer >= limits.max_connections_per_peer) {
        Connection* evicted = oldest_waiting(connections, [&](const Connection& c) { return c.peer() == peer; });
        if (!evicted) return refuse(socket, limits.max_connections_per_peer);
        evicted->shared_from_this()->end();
    }
    if (connections.size() >= limits.max_connections) {
        Connection* evicted = oldest_waiting(connections, [](const Connection&) { return true; });
        if (!evicted) return refuse(socket, limits.max_connections);
        evicted->shared_from_this()->end();
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Connection>(shared_from_this(), std::move(socket), peer)->start();
}

void HttpServer::Core::close() {
    if (closed) return;
    closed = true;
    error_code ignored;
    acceptor.close(ignored);
    pause.cancel();
    // end() erases from `connections`; hold each one while it ends.
    std::vector<std::shared_ptr<Connection>> open;
    for (Connection* c : connections) open.push_back(c->shared_from_this());
    for (auto& c : open) c->end();
}

std::unique_ptr<HttpServer> HttpServer::open(asio::io_context& io, const std::string& host, std::uint16_t port,
                                             Handler handler, std::string& error, HttpLimits limits) {
    std::string literal = host == "localhost" ? "127.0.0.1" : host;
    if (literal.size() >= 2 && literal.front() == '[' && literal.back() == ']')
        literal = literal.substr(1, literal.size() - 2);
    error_code ec;
    const auto address = asio::ip::make_address(literal, ec);
    if (ec) {
        error = "cannot listen on " + host + ":" + std::to_string(port) + ": not an IP address: " + host;
        return nullptr;
    }
    const std::string shown =
        (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" + std::to_string(port);
    const tcp::endpoint endpoint(address, port);

    auto core = std::make_shared<Core>(io, std::move(handler), limits);
    if (core->acceptor.open(endpoint.protocol(), ec); ec) {
        error = "cannot listen on " + shown + ": " + describe(ec);
        return nullptr;
    }
    set_cloexec(core->acceptor.native_handle());
    core->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);  // a restart must not wait for TIME_WAIT
    if (core->acceptor.bind(endpoint, ec); !ec) core->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error = "cannot listen on " + shown + ": " + describe(ec);
        return nullptr;
    }
    core->port = core->acceptor.local_endpoint(ec).port();
    core->accept();
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(core)));
}

HttpServer::HttpServer(std::shared_ptr<Core> core) : core_(std::move(core)) {}

HttpServer::~HttpServer() {
    close();
}

void HttpServer::close() {
    core_->close();
}

std::uint16_t HttpServer::port() const {
    return core_->port;
}

std::size_t HttpServer::connections() const {
    return core_->connections.size();
}

}  // namespace mainstay::serve
