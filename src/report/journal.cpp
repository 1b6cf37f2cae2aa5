#include "report/journal.hpp"

#include <nlohmann/json.hpp>

#include "report/json_read.hpp"

namespace mainstay::report {

Journal::Journal(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {}

void Journal::record(JournalEntry entry) {
    entry.seq = ++last_seq_;
    std::size_t slot = 0;
    if (size_ < slots_.size()) {
        slot = (first_ + size_) % slots_.size();
        ++size_;
    } else {
        slot = first_;  // full: the oldest goes
        first_ = (first_ + 1) % slots_.size();
    }
    slots_[slot] = std::move(entry);
    if (listener_) listener_(slots_[slot]);
}

std::vector<JournalEntry> Journal::since_seq(std::uint64_t after) const {
    // The entries held carry consecutive numbers, the oldest last_seq_ - size_ + 1.
    const std::uint64_t oldest = last_seq_ - size_ + 1;
    std::vector<JournalEntry> out;
    if (after >= last_seq_) return out;
    const std::size_t skip = after < oldest ? 0 : static_cast<std::size_t>(after - oldest + 1);
    out.reserve(size_ - skip);
    for (std::size_t i = skip; i < size_; ++i) out.push_back(at(i));
    return out;
}

std::vector<JournalEntry> Journal::entries_since(TimePoint t) const {
    std::vector<JournalEntry> out;
    for (std::size_t i = 0; i < size_; ++i) {
        if (at(i).at >= t) out.push_back(at(i));
    }
    return out;
}

std::string_view to_string(JournalEntry::Subject subject) {
    switch (subject) {
        case JournalEntry::Subject::service:
            return "service";
        case JournalEntry::Subject::capability:
            return "capability";
        case JournalEntry::Subject::mode:
            return "mode";
    }
    return "?";
}

nlohmann::json event_json(const JournalEntry& e, TimePoint steady_now, WallTime wall_now) {
    nlohmann::json j = {
        {"seq", e.seq},
        {"time", iso_time(wall_time(e.at, steady_now, wall_now))},
        {"from", e.from},
        {"to", e.to},
        {"reason", e.reason},
        {"attempt", e.attempt ? nlohmann::json(*e.attempt) : nlohmann::json(nullptr)},
        {"next_attempt_in_ms",
         e.next_attempt_in ? nlohmann::json(e.next_attempt_in->count()) : nlohmann::json(nullptr)},
    };
    if (e.subject == JournalEntry::Subject::mode)
        j["mode"] = true;
    else
        j[std::string(to_string(e.subject))] = e.name;
    return j;
}

std::string render_event(const nlohmann::json& event) {
    namespace jr = json_read;
    std::string who;
    if (jr::field(event, "service") != nullptr)
        who = jr::text(event, "service", "?");
    else if (jr::field(event, "capability") != nullptr)
        who = "capability " + jr::text(event, "capability", "?");
    else if (jr::field(event, "mode") != nullptr)
        who = "mode";
    else
        who = "?";

    std::string line = jr::clock_of(jr::text(event, "time"), true) + "  " + who + "  " + jr::text(event, "from", "?") +
                       " -> " + jr::text(event, "to", "?");
    if (const std::string reason = jr::text(event, "reason"); !reason.empty()) line += "  (" + reason + ")";
    std::string tail;
    if (auto attempt = jr::integer(event, "attempt")) tail = "attempt " + std::to_string(*attempt);
    if (auto next = jr::integer(event, "next_attempt_in_ms")) {
        tail += (tail.empty() ? "next in " : ", next in ") + compact_duration(Duration(*next));
    }
    if (!tail.empty()) line += "  " + tail;
    return one_line(line);
}

}  // namespace mainstay::report
