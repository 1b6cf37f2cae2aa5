// Reading a child's output (stdout and stderr share one pipe) without ever letting it block on
// a full pipe, and without holding memory per service while it is quiet.
//
// The pipe is watched for readability on the event loop; when it is readable, what is there is
// read into one buffer shared by every capture (the loop has one thread) and split into lines;
// every line goes to the `LineSink`. Only a line still incomplete is kept, per capture, and a
// line longer than 64 KiB is cut into pieces. An idle capture costs its descriptor and a few
// hundred bytes. The capture ends at end of file, or by `finish()` when its process ended: what
// is already in the pipe is read, then the pipe is closed, even if a process that escaped
// (a daemon) still holds the write end.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

namespace mainstay::runtime {

// `line` has no trailing newline; it is only valid during the call.
using LineSink = std::function<void(std::string_view line)>;

class LogCapture {
public:
    // Takes ownership of the read end `fd`.
    LogCapture(boost::asio::io_context& io, int fd, LineSink sink);
    ~LogCapture();
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    // Reads what the pipe holds now (up to a bound), hands it to the sink, and closes the pipe.
    void finish();
    bool finished() const;  // end of file, or finish()ed
    // Readers still allocated (a pending wait keeps one alive until it completes).
    static std::size_t live();

private:
    struct Stream;
    std::shared_ptr<Stream> stream_;
};

}  // namespace mainstay::runtime
