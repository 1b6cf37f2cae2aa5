// What every probe attempt shares: the one deadline, the exactly-once report, the handle, and
// the TCP connect step used by both the tcp and the http probe. Internal to probe_*.cpp.
//
// An attempt's state is a `ProbeCore` subclass held by shared_ptr; every pending handler holds
// a reference, so the handle may be cancelled or destroyed while operations are queued. Once
// the attempt has finished (success, failure, timeout or cancel), its sockets are closed, the
// handlers that still arrive see `finished()` and return, and the report is posted.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "runtime/probe.hpp"

namespace mainstay::runtime::probe_detail {

class ProbeCore : public std::enable_shared_from_this<ProbeCore> {
public:
    ProbeCore(boost::asio::io_context& io, std::chrono::milliseconds timeout, ProbeDone done);
    virtual ~ProbeCore() = default;
    ProbeCore(const ProbeCore&) = delete;
    ProbeCore& operator=(const ProbeCore&) = delete;

    bool finished() const { return finished_; }
    boost::asio::io_context& io() { return io_; }

    // Starts the deadline: when it passes, the attempt fails with "timed out after <timeout>".
    void arm_deadline();
    void succeed(std::string detail) { finish({true, false, std::move(detail), {}}); }
    void fail(std::string detail) { finish({false, false, std::move(detail), {}}); }
    void fail_permanently(std::string detail) { finish({false, false, std::move(detail), {}, true}); }
    void cancel() { fail("cancelled"); }
    // The handle is gone: abort, and never report.
    void detach();

    template <class T>
    std::shared_ptr<T> self() {
        return std::static_pointer_cast<T>(shared_from_this());
    }

protected:
    // Closes the sockets, so every pending operation completes at once.
    virtual void abort_io() = 0;

private:
    void finish(ProbeResult result);

    boost::asio::io_context& io_;
    boost::asio::steady_timer deadline_;
    std::chrono::milliseconds timeout_;
    std::chrono::steady_clock::time_point started_;
    ProbeDone done_;
    bool finished_{false};
};

// The handle returned to the caller: cancel() reports "cancelled", destruction detaches.
std::unique_ptr<ProbeAttempt> make_handle(std::shared_ptr<ProbeCore> core);

// An error code as a user reads it after "connect: ": "connection refused".
std::string describe(const boost::system::error_code& ec);

// Connects `socket` to host:port: an IP literal directly, a name through lookup() (each
// address in turn until one accepts). `then` receives "" on success, else the failure
// ("resolve: ...", "connect: ..."); it is not called once `owner` has finished. `socket` must
// belong to `owner`.
void connect_tcp(const std::shared_ptr<ProbeCore>& owner, boost::asio::ip::tcp::socket& socket, const std::string& host,
                 int port, std::function<void(std::string failure)> then);

}  // namespace mainstay::runtime::probe_detail
