// The events journal: the transitions `mainstay events` prints (SPEC §1: at least the last 1000
// kept in memory) and `--follow` / GET /events stream.
//
// A Journal is a ring of fixed capacity: its slots are allocated once, at construction, and a
// new entry overwrites the oldest once it is full (only the entry's own strings allocate).
// Every entry gets a sequence number, 1, 2, 3, ... in the order recorded, never reused, so a
// follower that remembers the last number it saw asks since_seq(n) for exactly what it missed
// (and can tell from the first number it gets whether the ring dropped some meanwhile). One
// listener may be set; it is called after each record(), for the servers to push follow
// streams. The Journal does no I/O and takes no lock: it lives on the event loop's thread.
//
// The JSON form of an event (SPEC §5), one object per line:
//   {"seq": 12, "time": "2026-11-23T08:00:01.123Z", "service": "docker",
//    "from": "starting", "to": "recovering", "reason": "...",
//    "attempt": 4, "next_attempt_in_ms": 16000}
// "capability": NAME instead of "service" for a capability; a change of the whole's mode has
// "mode": true (no name) and its "from"/"to" are modes. "attempt" and "next_attempt_in_ms"
// are null when they do not apply; "reason" is "" when there is none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "report/format.hpp"

namespace mainstay::report {

struct JournalEntry {
    enum class Subject { service, capability, mode };

    std::uint64_t seq{0};  // set by Journal::record
    TimePoint at{};
    Subject subject{Subject::service};
    std::string name;  // the service or capability; empty for the mode
    std::string from;
    std::string to;
    std::string reason;
    std::optional<std::uint32_t> attempt;
    std::optional<Duration> next_attempt_in;
};

class Journal {
public:
    static constexpr std::size_t default_capacity = 1000;

    // A capacity of 0 counts as 1.
    explicit Journal(std::size_t capacity = default_capacity);

    // Keeps `entry` (dropping the oldest when full) with the next sequence number, then tells
    // the listener.
    void record(JournalEntry entry);
    // The entries still held whose seq is above `after`, oldest first (since_seq(0): all).
    std::vector<JournalEntry> since_seq(std::uint64_t after) const;
    // The entries still held recorded at or after `t`, oldest first.
    std::vector<JournalEntry> entries_since(TimePoint t) const;
    // The seq of the newest entry ever recorded; 0 before the first.
    std::uint64_t last_seq() const { return last_seq_; }
    // The entry recorded last, held by the journal (valid until the next record()). Only when
    // size() > 0.
    const JournalEntry& newest() const { return at(size_ - 1); }
    std::size_t size() const { return size_; }
    std::size_t capacity() const { return slots_.size(); }
    // Called with each entry just recorded; an empty function removes the listener.
    void set_listener(std::function<void(const JournalEntry&)> listener) { listener_ = std::move(listener); }

private:
    // The i-th oldest entry held (0 <= i < size_).
    const JournalEntry& at(std::size_t i) const { return slots_[(first_ + i) % slots_.size()]; }

    std::vector<JournalEntry> slots_;
    std::size_t first_{0};  // the slot of the oldest entry
    std::size_t size_{0};
    std::uint64_t last_seq_{0};
    std::function<void(const JournalEntry&)> listener_;
};

std::string_view to_string(JournalEntry::Subject subject);

// The entry as SPEC §5's event object (see above), its time converted to the wall clock.
nlohmann::json event_json(const JournalEntry& entry, TimePoint steady_now, WallTime wall_now);

// One line for people, from the JSON form (what the CLI receives):
//   08:00:01.123  docker  starting -> recovering  (exited with code 1)  attempt 4, next in 16s
// A capability's name reads "capability local-llm", a mode change "mode". Parts that do not
// apply are left out; no newline at the end.
std::string render_event(const nlohmann::json& event);

}  // namespace mainstay::report
