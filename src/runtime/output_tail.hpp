// The last lines each service wrote, kept in memory for `mainstay logs` and for the reasons
// of a failed exit (SPEC §1, §3): `exited with code 1: "OSError: [Errno 98] ..."`.
//
// Per service: the last kLines lines, each cut at kLineBytes (so a service costs at most about
// kLines * kLineBytes, and nothing until it prints), with the time it was read, and the last
// line of its current run (what its next exit is explained with). Followers (`logs -f`) get
// every new line as it is read. Loop thread only; no I/O: reading a log file's tail is
// `read_file_tail` below, and `merged` puts the two together.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/schema.hpp"

namespace mainstay::runtime {

class OutputTails {
public:
    static constexpr std::size_t kLines = 100;
    static constexpr std::size_t kLineBytes = 512;

    struct Line {
        std::chrono::system_clock::time_point time;
        std::string text;  // cut at kLineBytes
        bool cut{false};
    };
    // A follower gets each new line of its service, rendered as in the service's log file.
    using Follower = std::function<void(const std::string& rendered)>;

    explicit OutputTails(config::LogFormat format = config::LogFormat::text) : format_(format) {}

    // A line `service` wrote (its own process when `own_run`, else a helper such as its stop
    // command: kept for `logs`, but not the last word of its run).
    void add(const std::string& service, std::string_view text, std::chrono::system_clock::time_point time,
             bool own_run);
    // `service` starts a new process: its run has said nothing yet.
    void begin_run(const std::string& service);
    // The last line its current (or last) process wrote; empty when it wrote none.
    std::string last_of_run(const std::string& service) const;
    // The last line it wrote at all; empty when none.
    std::string last(const std::string& service) const;
    // Its last `n` lines (oldest first), rendered as in its log file (`TIME line`, or JSON).
    std::vector<std::string> rendered(const std::string& service, std::size_t n) const;
    // The last `n` lines of its output when `file` holds the tail of its log file (read_file_tail):
    // the file's lines, then those kept here that the file does not hold yet (still queued for
    // the writer). A line kept cut matches the file's whole line by its start.
    std::vector<std::string> merged(const std::string& service, std::vector<std::string> file, std::size_t n) const;

    std::uint64_t follow(const std::string& service, Follower f);
    void unfollow(std::uint64_t id);
    // A reload removed `service`: what is kept of it goes.
    void forget(const std::string& service);

private:
    std::string render(const std::string& service, const Line& line) const;
    // `file_line` (as the log file holds it) is `line`.
    bool same(const std::string& file_line, const std::string& service, const Line& line) const;

    // The last kLines lines, oldest first: a vector that grows with what was printed, then a
    // ring (a deque would take half a kilobyte for a service that printed one line).
    class Lines {
    public:
        void push(Line line);
        std::size_t size() const { return lines_.size(); }
        bool empty() const { return lines_.empty(); }
        const Line& operator[](std::size_t i) const { return lines_[(oldest_ + i) % lines_.size()]; }
        const Line& back() const { return (*this)[size() - 1]; }

    private:
        std::vector<Line> lines_;
        std::size_t oldest_{0};
    };
    struct Tail {
        Lines lines;
        std::string last_of_run;
    };
    config::LogFormat format_;
    std::unordered_map<std::string, Tail> tails_;
    std::map<std::uint64_t, std::pair<std::string, Follower>> followers_;
    std::uint64_t next_follower_{1};
};

// The last `n` lines of the file at `path`, oldest first, reading at most `max_bytes` from its
// end. Never follows a link and never waits (a FIFO is refused). nullopt when it cannot be read.
std::optional<std::vector<std::string>> read_file_tail(const std::filesystem::path& path, std::size_t n,
                                                       std::size_t max_bytes = 4 * 1024 * 1024);

}  // namespace mainstay::runtime
