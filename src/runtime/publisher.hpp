// What mainstay tells the outside about itself, wired to the supervisor: systemd notifications
// (READY=1, STATUS=, STOPPING=1, WATCHDOG=1). Everything here runs on the io_context thread
// and never blocks: a datagram that cannot be sent is reported and dropped.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <string>

#include "runtime/logging.hpp"
#include "runtime/sd_notify.hpp"
#include "supervisor/supervisor.hpp"

namespace mainstay::runtime {

class Publisher {
public:
    Publisher(boost::asio::io_context& io, Logging& logging, const supervisor::Supervisor& supervisor);

    // Starts the watchdog pings (when systemd asked for them).
    void start();
    // A transition (RealWorld::record): STATUS= when the mode or the counts changed, STOPPING=1
    // when shutdown begins.
    void transition(const supervisor::Transition& t);
    // The startup phase ended: READY=1 with the status.
    void ready();
    // "degraded: 3/4 services ready, 0/1 capabilities full" (for STATUS=).
    std::string status_line() const;

private:
    void watchdog();

    boost::asio::io_context& io_;
    Logging& logging_;
    const supervisor::Supervisor& supervisor_;
    Notifier notifier_;
    boost::asio::steady_timer watchdog_timer_;
    bool ready_sent_{false};
    std::string last_status_;
};

}  // namespace mainstay::runtime
