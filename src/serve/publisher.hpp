// What mainstay tells the outside about itself, wired to the supervisor: the events journal,
// the status document (status file, control socket, HTTP), the status table on the console
// and in the log, the metrics, and systemd notifications (READY=1, STATUS=, STOPPING=1,
// WATCHDOG=1). Everything here runs on the io_context thread and never blocks: the status file
// is written by a thread of its own, a datagram that cannot be sent is reported and dropped.
//
// The status document is rebuilt at most every kStatusInterval after a change (a flapping
// service causes no write storm), and pushed to the status file and to every watcher.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "report/journal.hpp"
#include "report/metrics.hpp"
#include "report/timeline.hpp"
#include "runtime/logging.hpp"
#include "runtime/output_tail.hpp"
#include "serve/sd_notify.hpp"
#include "serve/status_file.hpp"
#include "supervisor/status_model.hpp"
#include "supervisor/supervisor.hpp"

namespace mainstay::serve {

class Publisher {
public:
    static constexpr std::chrono::milliseconds kStatusInterval{250};

    Publisher(boost::asio::io_context& io, const config::Config& config, runtime::Logging& logging,
              const supervisor::Supervisor& supervisor, const report::MetricsCounters& metrics);
    ~Publisher();

    // Starts the watchdog pings (when systemd asked for them) and the periodic table, and
    // begins the startup timeline (called just before the supervisor starts).
    void start();
    // A transition (reported by the supervisor to serve/Reporter): into the journal and the
    // startup timeline; STATUS= when the mode or the counts changed, STOPPING=1 when shutdown
    // begins; the status document is due again.
    void transition(const supervisor::Transition& t);
    // The startup phase ended: READY=1, the table.
    void ready();
    // A reload's new status.print_interval (0: only at the end of startup and mode changes).
    void set_print_interval(supervisor::Duration every);
    // The last status document is written; no timer is left.
    void stop();

    // "degraded: 3/4 services ready, 0/1 capabilities full" (for STATUS=).
    std::string status_line() const;
    // The status document of now (SPEC §5).
    nlohmann::json status_document() const;
    // The journal entry as SPEC §5's event object.
    nlohmann::json event_json(const report::JournalEntry& e) const;
    std::string metrics_text() const;
    const report::Journal& journal() const { return journal_; }
    // `mainstay analyze`: the startup phase's timeline (report/timeline.hpp).
    nlohmann::json timeline_document() const;

    // Each service's last line in the status document (`last_output`) comes from `tails`.
    void show_output(const runtime::OutputTails& tails) { tails_ = &tails; }

    // Called with every new status document (status --watch); returns an id for unwatch.
    std::uint64_t watch(std::function<void(const nlohmann::json&)> on_change);
    void unwatch(std::uint64_t id);
    // Called with every new journal entry (events --follow).
    std::uint64_t follow(std::function<void(const report::JournalEntry&)> on_event);
    void unfollow(std::uint64_t id);

private:
    supervisor::StatusModel model(supervisor::TimePoint now) const;
    void watchdog();
    void status_changed();
    // publish() at once, dropping a pending coalesced one (the shutdown's document).
    void publish_now();
    void publish();
    void print_table();
    void schedule_table();

    boost::asio::io_context& io_;
    runtime::Logging& logging_;
    const supervisor::Supervisor& supervisor_;
    const report::MetricsCounters& metrics_;
    const runtime::OutputTails* tails_{nullptr};
    Notifier notifier_;
    report::Journal journal_;
    report::StartupTimeline timeline_;
    std::unique_ptr<StatusFile> status_file_;
    boost::asio::steady_timer watchdog_timer_;
    boost::asio::steady_timer status_timer_;
    boost::asio::steady_timer table_timer_;
    supervisor::Duration print_interval_;
    bool status_pending_{false};
    std::chrono::steady_clock::time_point last_publish_{};
    bool ready_sent_{false};
    bool stopped_{false};
    std::string last_status_;
    std::uint64_t next_id_{1};
    std::map<std::uint64_t, std::function<void(const nlohmann::json&)>> watchers_;
    std::map<std::uint64_t, std::function<void(const report::JournalEntry&)>> followers_;
};

}  // namespace mainstay::serve
