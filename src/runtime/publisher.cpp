#include "runtime/publisher.hpp"

#include "runtime/doing.hpp"

namespace mainstay::runtime {

Publisher::Publisher(boost::asio::io_context& io, Logging& logging, const supervisor::Supervisor& supervisor)
    : io_(io),
      logging_(logging),
      supervisor_(supervisor),
      notifier_([&logging](const std::string& line) { logging.log(config::LogLevel::warn, line); }),
      watchdog_timer_(io) {}

void Publisher::start() {
    if (notifier_.enabled() && notifier_.watchdog_interval()) {
        logging_.log(config::LogLevel::info, "systemd watchdog: WATCHDOG=1 every " +
                                                 std::to_string(notifier_.watchdog_interval()->count() / 1000) + " ms");
        watchdog();
    }
}

void Publisher::watchdog() {
    notifier_.send("WATCHDOG=1\n");
    watchdog_timer_.expires_after(*notifier_.watchdog_interval());
    watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        Doing doing("sending WATCHDOG=1");
        watchdog();
    });
}

std::string Publisher::status_line() const {
    std::size_t ready = 0, enabled = 0, full = 0;
    for (const auto& s : supervisor_.services()) {
        if (!s->spec().enabled) continue;
        ++enabled;
        if (s->available()) ++ready;
    }
    for (const auto& c : supervisor_.capabilities()) {
        if (c->state() == resilience::CapabilityState::full) ++full;
    }
    std::string line = std::string(to_string(supervisor_.mode())) + ": " + std::to_string(ready) + "/" +
                       std::to_string(enabled) + " services ready";
    if (!supervisor_.capabilities().empty()) {
        line += ", " + std::to_string(full) + "/" + std::to_string(supervisor_.capabilities().size()) + " capabilities full";
    }
    return line;
}

void Publisher::ready() {
    if (ready_sent_) return;
    ready_sent_ = true;
    last_status_ = status_line();
    notifier_.send("READY=1\nSTATUS=" + last_status_ + "\n");
}

void Publisher::transition(const supervisor::Transition& t) {
    if (!notifier_.enabled()) return;
    using Subject = supervisor::Transition::Subject;
    if (t.subject == Subject::mode && t.to == "stopping") {
        last_status_ = "stopping";
        notifier_.send("STOPPING=1\nSTATUS=stopping\n");
        return;
    }
    if (!ready_sent_ || supervisor_.shutting_down()) return;
    // Only what can change the counts: a service entering or leaving ready/completed, a
    // capability, the mode.
    const bool counts = t.subject != Subject::service || t.from == "ready" || t.to == "ready" || t.from == "completed" ||
                        t.to == "completed";
    if (!counts) return;
    std::string status = status_line();
    if (status == last_status_) return;
    last_status_ = std::move(status);
    notifier_.send("STATUS=" + last_status_ + "\n");
}

}  // namespace mainstay::runtime
