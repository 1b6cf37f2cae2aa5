// Reading a child's stdout and stderr without ever letting it block on a full pipe.
//
// Each pipe is read asynchronously on the event loop and split into lines; every line goes to
// the `LineSink` (the console as `name | line` and the service's rotating log file). A line
// longer than 64 KiB is cut into pieces. The capture ends by itself at end of file (when the
// last writer, possibly a grandchild, closes the pipe).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

namespace mainstay::runtime {

// `line` has no trailing newline; `is_stderr` tells which stream it came from.
using LineSink = std::function<void(std::string_view line, bool is_stderr)>;

class LogCapture {
public:
    // Takes ownership of the two read ends (either may be -1).
    LogCapture(boost::asio::io_context& io, int stdout_fd, int stderr_fd, LineSink sink);
    ~LogCapture();
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    bool finished() const;  // both streams reached end of file

private:
    struct Stream;
    std::shared_ptr<Stream> out_;
    std::shared_ptr<Stream> err_;
};

}  // namespace mainstay::runtime
