// Reading a child's output (stdout and stderr share one pipe) without ever letting it block on
// a full pipe, and without holding memory per service while it is quiet.
//
// Every capture's pipe sits in one epoll set of mainstay's own (level-triggered), and only that
// set is watched by the event loop. When it reports pipes readable, each is read into one
// buffer shared by every capture (the loop has one thread), at most 256 KiB per pipe per turn
// (a flooding service cannot starve the others), and split into lines for the `LineSink`. Only
// a line still incomplete is kept per capture; a line longer than 64 KiB is cut into pieces.
// An idle capture costs its descriptor and a few dozen bytes. The capture ends at end of file,
// or by `finish()` when its process ended: what is already in the pipe is read, then the pipe
// is closed, even if a process that escaped (a daemon) still holds the write end.
//
// Why not one Asio wait per pipe: a wait still pending when its pipe was closed from another
// handler (the exit of the process) kept its capture alive, one per restart, until the loop
// wound down. Here adding and removing a pipe is a plain epoll_ctl, with nothing left pending.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace mainstay::runtime {

// `line` has no trailing newline; it is only valid during the call. With Delivery::blocks it
// may hold several whole lines, separated by '\n' (no trailing one): what one read brought.
using LineSink = std::function<void(std::string_view line)>;

// One line per call, or a block of the lines of one read per call: a flood of short lines
// then costs one call, one allocation and one queue entry per 64 KiB, not per line.
enum class Delivery { lines, blocks };

// Calls `each(line)` for every line of a block (lines separated by '\n', no trailing one).
template <class Each>
void for_each_line(std::string_view block, Each each) {
    for (;;) {
        const auto nl = block.find('\n');
        each(block.substr(0, nl));
        if (nl == std::string_view::npos) return;
        block.remove_prefix(nl + 1);
    }
}

class LogCapture {
public:
    // Takes ownership of the read end `fd`.
    LogCapture(boost::asio::io_context& io, int fd, LineSink sink, Delivery delivery = Delivery::lines);
    ~LogCapture();
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    // Reads what the pipe holds now (up to a bound), hands it to the sink, and closes the pipe.
    void finish();
    bool finished() const;  // end of file, or finish()ed
    // Captures alive (in every event loop of the process).
    static std::size_t live();
    // While `hold()` says so, the captures of `io` read nothing (checked every 2 ms): the pipes
    // fill and a flooding service waits on its own writes, as it would on a slow terminal,
    // instead of its lines being dropped. Set once by the runtime (Logging::file_backlog).
    static void hold_reading_while(boost::asio::io_context& io, std::function<bool()> hold);

    struct Stream;

private:
    std::unique_ptr<Stream> stream_;
    void* set_{nullptr};  // the CaptureSet (log_capture.cpp) of its io_context
};

}  // namespace mainstay::runtime
