// Helpers of the control-socket and HTTP server tests: the server's io_context runs in the test
// thread, in short turns, until a condition holds or a generous deadline passes; clients that
// must wait for an answer run on another thread (std::async) or use non-blocking sockets.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <future>

#include "support/temp_dir.hpp"

namespace mainstay::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline constexpr std::chrono::milliseconds kDeadline = 20s;

// Runs `io` until `done()` holds (true) or `limit` passes (false).
inline bool pump(boost::asio::io_context& io, const std::function<bool()>& done,
                 std::chrono::milliseconds limit = kDeadline) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
        if (Clock::now() >= deadline) return false;
        if (io.stopped()) io.restart();
        io.run_for(5ms);
    }
    return true;
}

// Runs `io` for `span`: for the checks that something does *not* happen within a time.
inline void pump_for(boost::asio::io_context& io, std::chrono::milliseconds span) {
    const auto until = Clock::now() + span;
    pump(
        io, [&] { return Clock::now() >= until; }, span + 1s);
}

template <class T>
bool ready(const std::future<T>& f) {
    return f.wait_for(0s) == std::future_status::ready;
}

// Runs `f` on a thread of its own; its result is ready() once it returned.
template <class F>
auto in_background(F f) {
    return std::async(std::launch::async, std::move(f));
}

}  // namespace mainstay::testing
