#include "runtime/output_queue.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

namespace mainstay::runtime {

std::string_view to_string(Sink sink) {
    return sink == Sink::console ? "console" : "file";
}

OutputQueue::OutputQueue(OutputLimits limits) : limits_(limits) {
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

OutputQueue::~OutputQueue() {
    if (wake_fd_ != -1) ::close(wake_fd_);
}

std::size_t OutputQueue::budget(bool own, Sink sink) const {
    if (own) return sink == Sink::console ? limits_.own_console : limits_.own_file;
    return sink == Sink::console ? limits_.service_console : limits_.service_file;
}

bool OutputQueue::charge(bool own, Sink sink, std::size_t cost) {
    std::size_t& u = used(own, sink);
    if (u + cost > budget(own, sink)) return false;
    u += cost;
    return true;
}

void OutputQueue::count(std::string_view service, Sink sink, std::uint64_t lines, bool summarize) {
    const auto i = static_cast<std::size_t>(sink);
    auto it = dropped_.find(service);
    if (it == dropped_.end()) it = dropped_.emplace(std::string(service), Counts{}).first;
    it->second[i] += lines;
    if (!summarize) return;
    auto un = unreported_.find(service);
    if (un == unreported_.end()) un = unreported_.emplace(std::string(service), Counts{}).first;
    un->second[i] += lines;
}

void OutputQueue::push(OutputEntry entry) {
    const bool own = entry.own();
    const std::size_t cost = entry.cost();
    std::lock_guard lock(mutex_);
    for (Sink sink : {Sink::console, Sink::file}) {
        bool& wanted = sink == Sink::console ? entry.console : entry.file;
        if (wanted && !charge(own, sink, cost)) {
            wanted = false;
            count(entry.service, sink, entry.lines, true);
        }
    }
    if (!entry.console && !entry.file) return;
    queued_.push_back(std::move(entry));
    if (queued_.size() == 1) wake();
}

void OutputQueue::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);  // non-blocking; a full counter is awake anyway
}

std::vector<OutputEntry> OutputQueue::take() {
    std::vector<OutputEntry> out;
    std::lock_guard lock(mutex_);
    std::uint64_t count_read = 0;
    [[maybe_unused]] auto n = ::read(wake_fd_, &count_read, sizeof count_read);
    out.swap(queued_);
    return out;
}

void OutputQueue::release(bool own, Sink sink, std::size_t cost) {
    std::lock_guard lock(mutex_);
    std::size_t& u = used(own, sink);
    u -= std::min(u, cost);
    if (!own && sink == Sink::file) last_file_release_ = std::chrono::steady_clock::now();
}

bool OutputQueue::file_backlog() const {
    std::lock_guard lock(mutex_);
    if (used_[0][static_cast<std::size_t>(Sink::file)] * 2 <= limits_.service_file) return false;
    // Only while the writer is writing them: a hung disk must not stall the services too.
    return std::chrono::steady_clock::now() - last_file_release_ < std::chrono::milliseconds(500);
}

bool OutputQueue::recharge(bool own, Sink sink, std::size_t old_cost, std::size_t new_cost) {
    std::lock_guard lock(mutex_);
    std::size_t& u = used(own, sink);
    u -= std::min(u, old_cost);
    return charge(own, sink, new_cost);
}

void OutputQueue::count_drop(std::string_view service, Sink sink, std::uint64_t lines, bool summarize) {
    if (lines == 0) return;
    std::lock_guard lock(mutex_);
    count(service, sink, lines, summarize);
}

std::vector<DropCount> OutputQueue::take_summaries() {
    std::vector<DropCount> out;
    std::lock_guard lock(mutex_);
    for (Sink sink : {Sink::console, Sink::file}) {
        const auto i = static_cast<std::size_t>(sink);
        // Pressure is over when both budgets of the sink are at most half used.
        if (used(false, sink) * 2 > budget(false, sink) || used(true, sink) * 2 > budget(true, sink)) continue;
        for (auto& [service, counts] : unreported_) {
            if (counts[i] == 0) continue;
            out.push_back({service, sink, counts[i]});
            counts[i] = 0;
        }
    }
    std::erase_if(unreported_, [](const auto& kv) { return kv.second[0] == 0 && kv.second[1] == 0; });
    return out;
}

std::uint64_t OutputQueue::dropped(std::string_view service, Sink sink) const {
    std::lock_guard lock(mutex_);
    auto it = dropped_.find(service);
    return it == dropped_.end() ? 0 : it->second[static_cast<std::size_t>(sink)];
}

std::vector<DropCount> OutputQueue::drops() const {
    std::vector<DropCount> out;
    std::lock_guard lock(mutex_);
    for (const auto& [service, counts] : dropped_) {
        for (Sink sink : {Sink::console, Sink::file})
            out.push_back({service, sink, counts[static_cast<std::size_t>(sink)]});
    }
    return out;
}

void OutputQueue::set_failing(const std::string& path, bool failing) {
    std::lock_guard lock(mutex_);
    if (failing)
        failing_.insert(path);
    else
        failing_.erase(path);
}

std::size_t OutputQueue::charged() const {
    std::lock_guard lock(mutex_);
    return used_[0][0] + used_[0][1] + used_[1][0] + used_[1][1];
}

std::vector<std::string> OutputQueue::failing_files() const {
    std::lock_guard lock(mutex_);
    return {failing_.begin(), failing_.end()};
}

}  // namespace mainstay::runtime
