// Reads the configuration again (SIGHUP, `mainstay reload`) on a thread of its own and hands
// the finished result to the loop, which only applies the difference: a file of 80,000 keys or
// a slow disk never delays a restart, a probe, a watchdog ping or a shutdown.
//
// Requests that come while a read is under way are coalesced: one more read follows it (the
// files may have changed after it began), and every waiting `mainstay reload` gets that read's
// answer. Twenty SIGHUPs in a second make two reads, not twenty.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "config/loader.hpp"

namespace mainstay::runtime {

class Reloader {
public:
    using Answer = std::function<void(const nlohmann::json&)>;
    // `load` runs off the loop (it must touch nothing the loop uses); `apply` runs on the loop
    // with its result and gives the answer of `mainstay reload`.
    Reloader(boost::asio::io_context& io, std::function<config::LoadResult()> load,
             std::function<nlohmann::json(config::LoadResult)> apply);
    // A read still under way is abandoned: its result is dropped, never applied.
    ~Reloader();
    Reloader(const Reloader&) = delete;
    Reloader& operator=(const Reloader&) = delete;

    // Reads and applies; `answer` (may be empty: SIGHUP) gets the answer on the loop.
    void request(Answer answer);
    bool reading() const { return reading_; }
    // Reads begun so far (for the tests and the log).
    unsigned reads() const { return reads_; }

private:
    struct Shared;
    void begin();
    void finished(config::LoadResult result);

    boost::asio::io_context& io_;
    std::function<config::LoadResult()> load_;
    std::function<nlohmann::json(config::LoadResult)> apply_;
    std::shared_ptr<Shared> shared_;
    bool reading_{false};
    bool again_{false};
    unsigned reads_{0};
    std::vector<Answer> current_;  // wait for the read under way
    std::vector<Answer> next_;     // came during it: wait for the one after
};

}  // namespace mainstay::runtime
