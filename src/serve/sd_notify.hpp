// systemd's notification protocol (sd_notify(3)) without libsystemd: one datagram per message
// to $NOTIFY_SOCKET ('@' = the abstract namespace), sent without blocking.
//
// mainstay sends READY=1 when the startup phase ends, STATUS= with the mode and the counts on
// every change, STOPPING=1 when shutdown begins, and WATCHDOG=1 every half of WATCHDOG_USEC
// (when it is set for this process: WATCHDOG_PID unset or ours). A socket that cannot be
// reached is reported once, and once more when it works again; supervision goes on.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mainstay::serve {

class Notifier {
public:
    // `report` gets the lines for mainstay's log (a failure, a recovery). The environment is
    // read here, once.
    explicit Notifier(std::function<void(const std::string&)> report);

    bool enabled() const { return !path_.empty(); }
    // Sends `message` ("READY=1\nSTATUS=..."); false when it could not be sent.
    bool send(std::string_view message);
    // How often to send WATCHDOG=1 (half of WATCHDOG_USEC), when the watchdog is on for us.
    std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

private:
    std::string path_;
    std::optional<std::chrono::microseconds> watchdog_;
    std::function<void(const std::string&)> report_;
    bool failing_{false};
};

}  // namespace mainstay::serve
