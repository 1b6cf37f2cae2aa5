#include "runtime/probe_core.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <cctype>
#include <utility>

#include "config/values.hpp"
#include "runtime/lookup.hpp"

namespace mainstay::runtime::probe_detail {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

ProbeCore::ProbeCore(asio::io_context& io, std::chrono::milliseconds timeout, ProbeDone done)
    : io_(io), deadline_(io), timeout_(timeout), started_(std::chrono::steady_clock::now()), done_(std::move(done)) {}

void ProbeCore::arm_deadline() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec || self->finished_) return;  // cancelled: the attempt finished first
        self->finish({false, true, "timed out after " + config::format_duration(self->timeout_), {}});
    });
}

void ProbeCore::finish(ProbeResult result) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    abort_io();
    result.duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
    // Posted, so the caller of start/cancel never sees `done` re-entered; dropped if detached.
    asio::post(io_, [self = shared_from_this(), result = std::move(result)] {
        if (!self->done_) return;
        auto done = std::move(self->done_);
        self->done_ = nullptr;
        done(result);
    });
}

void ProbeCore::detach() {
    done_ = nullptr;
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    abort_io();
}

namespace {

class Handle final : public ProbeAttempt {
public:
    explicit Handle(std::shared_ptr<ProbeCore> core) : core_(std::move(core)) {}
    ~Handle() override { core_->detach(); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    void cancel() override { core_->cancel(); }

private:
    std::shared_ptr<ProbeCore> core_;
};

}  // namespace

std::unique_ptr<ProbeAttempt> make_handle(std::shared_ptr<ProbeCore> core) {
    return std::make_unique<Handle>(std::move(core));
}

std::string describe(const error_code& ec) {
    return config::lowercase_first(ec.message());
}

void connect_tcp(const std::shared_ptr<ProbeCore>& owner, tcp::socket& socket, const std::string& host, int port,
                 std::function<void(std::string failure)> then) {
    auto connected = [owner, then](const error_code& ec) {
        if (owner->finished()) return;
        then(ec ? "connect: " + describe(ec) : std::string());
    };
    error_code literal_ec;
    const auto address = asio::ip::make_address(host, literal_ec);
    if (!literal_ec) {
        socket.async_connect(tcp::endpoint(address, static_cast<unsigned short>(port)), std::move(connected));
        return;
    }
    // Off the loop, and abandoned (not waited for) if mainstay ends first: see lookup.hpp.
    lookup(owner->io(), host, port,
           [owner, &socket, then, connected](const Endpoints& endpoints, const std::string& error) {
               if (owner->finished()) return;
               if (endpoints.empty()) return then("resolve: " + config::lowercase_first(error));
               asio::async_connect(socket, endpoints,
                                   [connected](const error_code& e, const tcp::endpoint&) { connected(e); });
           });
}

}  // namespace mainstay::runtime::probe_detail
