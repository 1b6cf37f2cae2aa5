// The queue between the event loop and the output writer's thread, bounded in bytes, and the
// counters of every line dropped rather than stalling (later mainstay_output_dropped_lines_total).
//
// Each sink has its own budget, so a slow console does not cost the files their lines: a
// service's line is charged to the console budget until it is written there, and to the file
// budget until it is written to its file. mainstay's own lines have budgets of their own, so
// a flood of service lines never pushes them out; when even those are full, the own line is
// dropped and counted apart. A line that finds its budget full is dropped and counted at once,
// per (service, sink). `push` only takes a mutex and, when the queue was empty, writes an
// eventfd to wake the writer: it never waits for the writer or for any I/O.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"

namespace mainstay::runtime {

enum class Sink { console, file };
std::string_view to_string(Sink sink);

// Bytes of queued output mainstay holds at most, per budget (lines are counted with their
// bookkeeping, see OutputEntry::cost). The one place these numbers live.
struct OutputLimits {
    std::size_t service_console = 2 * 1024 * 1024;
    std::size_t service_file = 4 * 1024 * 1024;
    std::size_t own_console = 256 * 1024;
    std::size_t own_file = 256 * 1024;
};
inline constexpr OutputLimits kOutputLimits{};

struct OutputEntry {
    std::chrono::system_clock::time_point time;
    std::optional<config::LogLevel> level;  // set: one of mainstay's own lines
    std::string service;                    // a service's line: whose (file name and counters)
    std::string label;                      // console prefix when not the service's name
    std::string text;                       // a service's entry may hold several lines, separated by '\n'
    bool console{false};
    bool file{false};
    std::uint32_t lines{1};  // how many lines `text` holds (what a drop counts)

    bool own() const { return level.has_value(); }
    // What the entry costs its budget: the bytes it holds and its bookkeeping.
    std::size_t cost() const { return sizeof(OutputEntry) + service.size() + label.size() + text.size(); }
};

// Lines dropped: of `service` ("" for mainstay's own lines) on `sink`.
struct DropCount {
    std::string service;
    Sink sink;
    std::uint64_t lines;
};

class OutputQueue {
public:
    explicit OutputQueue(OutputLimits limits = kOutputLimits);
    ~OutputQueue();
    OutputQueue(const OutputQueue&) = delete;
    OutputQueue& operator=(const OutputQueue&) = delete;

    // --- any thread (the event loop) ---
    // Queues what fits of `entry` (its console and file parts are charged apart); counts the rest.
    void push(OutputEntry entry);
    void wake();  // makes the writer look (stop requests)
    std::uint64_t dropped(std::string_view service, Sink sink) const;
    std::uint64_t dropped_own(Sink sink) const { return dropped({}, sink); }
    std::vector<DropCount> drops() const;
    std::vector<std::string> failing_files() const;
    std::size_t charged() const;  // bytes charged to every budget now (0 when all is written)
    // The services' file lines fill more than half their budget while the writer is writing
    // them (it finished some within the last half second): reading the services' pipes should
    // wait, so that a flood reaches its file whole instead of being dropped. False while the
    // writer is stuck (a hung disk): then lines are dropped and counted, and nothing waits.
    bool file_backlog() const;

    // --- the writer ---
    int wake_fd() const { return wake_fd_; }
    std::vector<OutputEntry> take();  // everything queued, oldest first
    // The writer is done with a part of an entry (written or dropped).
    void release(bool own, Sink sink, std::size_t cost);
    // Swaps a part's charge for a new cost (a console line once formatted); false (and the old
    // charge released) when the new one does not fit: the caller drops the part.
    bool recharge(bool own, Sink sink, std::size_t old_cost, std::size_t new_cost);
    // Lines the writer dropped. `summarize`: reported by take_summaries (not for a failing file
    // or console, whose episode is reported once by itself).
    void count_drop(std::string_view service, Sink sink, std::uint64_t lines, bool summarize = true);
    // Drops not yet reported, of each sink whose pressure has ended (its queue below half its
    // budget); each is reported once.
    std::vector<DropCount> take_summaries();
    void set_failing(const std::string& path, bool failing);

private:
    using Counts = std::array<std::uint64_t, 2>;
    std::size_t& used(bool own, Sink sink) { return used_[own ? 1 : 0][static_cast<std::size_t>(sink)]; }
    std::size_t budget(bool own, Sink sink) const;
    bool charge(bool own, Sink sink, std::size_t cost);
    void count(std::string_view service, Sink sink, std::uint64_t lines, bool summarize);

    const OutputLimits limits_;
    int wake_fd_{-1};
    mutable std::mutex mutex_;
    std::vector<OutputEntry> queued_;
    std::array<std::array<std::size_t, 2>, 2> used_{};
    std::map<std::string, Counts, std::less<>> dropped_;
    std::map<std::string, Counts, std::less<>> unreported_;
    std::set<std::string> failing_;
    std::chrono::steady_clock::time_point last_file_release_{};
};

}  // namespace mainstay::runtime
