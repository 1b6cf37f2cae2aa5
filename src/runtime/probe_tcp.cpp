#include "runtime/probe_tcp.hpp"

#include <string>
#include <utility>

#include "runtime/probe_core.hpp"

namespace mainstay::runtime {

namespace {

using boost::asio::ip::tcp;

std::string format_endpoint(const tcp::endpoint& ep) {
    const auto address = ep.address();
    const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(ep.port());
}

class TcpAttempt final : public probe_detail::ProbeCore {
public:
    TcpAttempt(boost::asio::io_context& io, const config::TcpProbe& spec, std::chrono::milliseconds timeout,
               ProbeDone done)
        : ProbeCore(io, timeout, std::move(done)), spec_(spec), socket_(io) {}

    void begin() {
        arm_deadline();
        probe_detail::connect_tcp(shared_from_this(), socket_, spec_.address.host, spec_.address.port,
                                  [self = self<TcpAttempt>()](std::string failure) {
                                      if (!failure.empty()) return self->fail(std::move(failure));
                                      boost::system::error_code ec;
                                      const auto peer = self->socket_.remote_endpoint(ec);
                                      self->succeed(ec ? "connected" : "connected to " + format_endpoint(peer));
                                  });
    }

private:
    void abort_io() override {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    config::TcpProbe spec_;
    tcp::socket socket_;
};

}  // namespace

std::unique_ptr<ProbeAttempt> start_tcp_probe(boost::asio::io_context& io, const config::TcpProbe& spec,
                                              std::chrono::milliseconds timeout, ProbeDone done) {
    auto attempt = std::make_shared<TcpAttempt>(io, spec, timeout, std::move(done));
    attempt->begin();
    return probe_detail::make_handle(std::move(attempt));
}

}  // namespace mainstay::runtime
