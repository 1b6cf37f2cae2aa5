#include "serve/publisher.hpp"

#include <boost/asio/post.hpp>

#include "config/values.hpp"
#include "report/status_json.hpp"
#include "report/status_table.hpp"
#include "runtime/doing.hpp"
#include "supervisor/status_model.hpp"

namespace mainstay::serve {

using runtime::Doing;
using runtime::Sink;

namespace {

report::JournalEntry::Subject subject_of(supervisor::Transition::Subject s) {
    switch (s) {
        case supervisor::Transition::Subject::service:
            return report::JournalEntry::Subject::service;
        case supervisor::Transition::Subject::capability:
            return report::JournalEntry::Subject::capability;
        case supervisor::Transition::Subject::mode:
            break;
    }
    return report::JournalEntry::Subject::mode;
}

}  // namespace

Publisher::Publisher(boost::asio::io_context& io, const config::Config& config, runtime::Logging& logging,
                     const supervisor::Supervisor& supervisor, const report::MetricsCounters& metrics)
    : io_(io),
      logging_(logging),
      supervisor_(supervisor),
      metrics_(metrics),
      notifier_([&logging](const std::string& line) { logging.log(config::LogLevel::warn, line); }),
      watchdog_timer_(io),
      status_timer_(io),
      table_timer_(io),
      print_interval_(config.main.status.print_interval) {
    if (!config.main.status.file.empty()) {
        // Errors come on the writer's thread: logged from ours.
        status_file_ = std::make_unique<StatusFile>(config.main.status.file, [&io, &logging](const std::string& line) {
            boost::asio::post(io, [&logging, line] { logging.log(config::LogLevel::warn, line); });
        });
    }
}

Publisher::~Publisher() {
    stop();
}

void Publisher::start() {
    std::vector<std::string> members;
    members.reserve(supervisor_.services().size());
    for (const auto& s : supervisor_.services()) members.push_back(s->name());
    timeline_.begin(std::chrono::steady_clock::now(), std::move(members));
    if (notifier_.enabled() && notifier_.watchdog_interval()) {
        logging_.log(config::LogLevel::info, "systemd watchdog: WATCHDOG=1 every " +
                                                 std::to_string(notifier_.watchdog_interval()->count() / 1000) + " ms");
        watchdog();
    }
    status_changed();  // the first document: starting
}

void Publisher::stop() {
    if (stopped_) return;
    stopped_ = true;
    watchdog_timer_.cancel();
    status_timer_.cancel();
    table_timer_.cancel();
    if (status_file_) status_file_->put(status_document().dump() + "\n");
    watchers_.clear();
    followers_.clear();
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
    // The supervisor keeps the service counts as events come; capabilities are few.
    const std::size_t ready = supervisor_.available_count(), enabled = supervisor_.enabled_count();
    std::size_t full = 0;
    for (const auto& c : supervisor_.capabilities()) {
        if (c->state() == resilience::CapabilityState::full) ++full;
    }
    std::string line = std::string(to_string(supervisor_.mode())) + ": " + std::to_string(ready) + "/" +
                       std::to_string(enabled) + " services ready";
    if (!supervisor_.capabilities().empty()) {
        line += ", " + std::to_string(full) + "/" + std::to_string(supervisor_.capabilities().size()) +
                " capabilities full";
    }
    return line;
}

supervisor::StatusModel Publisher::model(supervisor::TimePoint now) const {
    supervisor::StatusModel m = supervisor::snapshot(supervisor_, now);
    if (tails_ != nullptr) {
        for (auto& s : m.services) s.last_output = config::printable(tails_->last(s.name), 512);
    }
    return m;
}

nlohmann::json Publisher::status_document() const {
    const auto now = std::chrono::steady_clock::now();
    return report::status_document(model(now), now, std::chrono::system_clock::now());
}

nlohmann::json Publisher::timeline_document() const {
    const auto now = std::chrono::steady_clock::now();
    const auto wall = std::chrono::system_clock::now();
    return report::timeline_json(timeline_, report::status_document(model(now), now, wall), now, wall);
}

nlohmann::json Publisher::event_json(const report::JournalEntry& e) const {
    return report::event_json(e, std::chrono::steady_clock::now(), std::chrono::system_clock::now());
}

std::string Publisher::metrics_text() const {
    const auto now = std::chrono::steady_clock::now();
    std::vector<report::OutputDrop> drops;
    for (const auto& d : logging_.drops()) {
        drops.push_back({d.service, d.sink == Sink::console ? "console" : "file", d.lines});
    }
    return report::render_prometheus(supervisor::snapshot(supervisor_, now), metrics_, drops, now);
}

void Publisher::ready() {
    if (!ready_sent_) {
        ready_sent_ = true;
        last_status_ = status_line();
        notifier_.send("READY=1\nSTATUS=" + last_status_ + "\n");
    }
    print_table();
    schedule_table();
}

void Publisher::transition(const supervisor::Transition& t) {
    report::JournalEntry entry;
    entry.at = std::chrono::steady_clock::now();
    entry.subject = subject_of(t.subject);
    entry.name = t.name;
    entry.from = std::string(t.from.name());
    entry.to = std::string(t.to.name());
    entry.reason = t.reason;
    entry.attempt = t.attempt;
    entry.next_attempt_in = t.next_attempt_in;
    journal_.record(entry);
    timeline_.record(t, entry.at);
    if (!followers_.empty()) {
        const report::JournalEntry& recorded = journal_.newest();
        auto followers = followers_;  // a follower may unfollow while called
        for (auto& [id, f] : followers) f(recorded);
    }
    using Subject = supervisor::Transition::Subject;
    if (t.subject == Subject::mode && t.to == supervisor::Mode::stopping) {
        publish_now();  // not held back: a quick shutdown would end before the next document
    } else {
        status_changed();
    }

    // The table at every mode change after the startup phase (the first comes with ready()).
    if (t.subject == Subject::mode && ready_sent_ && t.to != supervisor::Mode::stopping) print_table();
    if (!notifier_.enabled()) return;
    if (t.subject == Subject::mode && t.to == supervisor::Mode::stopping) {
        last_status_ = "stopping";
        notifier_.send("STOPPING=1\nSTATUS=stopping\n");
        return;
    }
    if (!ready_sent_ || supervisor_.shutting_down()) return;
    // Only what can change the counts: a service entering or leaving ready/completed, a
    // capability, the mode.
    using supervisor::State;
    const bool counts = t.subject != Subject::service || t.from == State::ready || t.to == State::ready ||
                        t.from == State::completed || t.to == State::completed;
    if (!counts) return;
    std::string status = status_line();
    if (status == last_status_) return;
    last_status_ = std::move(status);
    notifier_.send("STATUS=" + last_status_ + "\n");
}

void Publisher::status_changed() {
    if (stopped_ || status_pending_) return;
    status_pending_ = true;
    const auto due = std::max(std::chrono::steady_clock::now(), last_publish_ + kStatusInterval);
    status_timer_.expires_at(due);
    status_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        Doing doing("publishing the status");
        publish();
    });
}

void Publisher::publish_now() {
    if (stopped_) return;
    if (status_pending_) status_timer_.cancel();  // its handler sees operation_aborted
    publish();
}

void Publisher::publish() {
    status_pending_ = false;
    last_publish_ = std::chrono::steady_clock::now();
    if (!status_file_ && watchers_.empty()) return;
    const nlohmann::json document = status_document();
    if (status_file_) status_file_->put(document.dump() + "\n");
    auto watchers = watchers_;
    for (auto& [id, w] : watchers) w(document);
}

void Publisher::print_table() {
    logging_.log(config::LogLevel::info, "status\n" + report::render_table(status_document()));
}

void Publisher::set_print_interval(supervisor::Duration every) {
    print_interval_ = every;
    table_timer_.cancel();
    if (ready_sent_) schedule_table();
}

void Publisher::schedule_table() {
    const auto every = print_interval_;
    if (every <= decltype(every)::zero() || stopped_) return;
    table_timer_.expires_after(every);
    table_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || supervisor_.shutting_down()) return;
        Doing doing("printing the status table");
        print_table();
        schedule_table();
    });
}

std::uint64_t Publisher::watch(std::function<void(const nlohmann::json&)> on_change) {
    watchers_[next_id_] = std::move(on_change);
    return next_id_++;
}

void Publisher::unwatch(std::uint64_t id) {
    watchers_.erase(id);
}

std::uint64_t Publisher::follow(std::function<void(const report::JournalEntry&)> on_event) {
    followers_[next_id_] = std::move(on_event);
    return next_id_++;
}

void Publisher::unfollow(std::uint64_t id) {
    followers_.erase(id);
}

}  // namespace mainstay::serve
