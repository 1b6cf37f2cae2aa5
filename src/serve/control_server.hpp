// The control socket's transport (SPEC §1): a unix stream socket that speaks JSON lines, one
// request per line from the client, any number of lines back. It knows nothing about services:
// the daemon hands it a Handler that reads each request and answers through the session.
//
// Runs on the caller's io_context (mainstay's one event-loop thread) and never blocks it. Every
// client is bounded, and a client that misbehaves is dropped rather than allowed to stall the
// loop or grow memory:
//   - only root and mainstay's own effective uid may talk (SO_PEERCRED); anyone else gets one
//     line `{"ok":false,"error":"permission denied: uid N"}` and is closed;
//   - at most `max_connections` sessions; one more gets `{"ok":false,"error":"too many
//     connections (N)"}` and is closed;
//   - a request line longer than `max_line` gets an error line and the connection is closed; a
//     line that is not a JSON object gets `{"ok":false,"error":"malformed request: ..."}` and the
//     connection stays usable (blank lines are ignored);
//   - output is written asynchronously; a session whose queued output would pass
//     `output_budget` (a client that does not read) is disconnected at once, and so is one whose
//     pending write makes no progress for `write_timeout`;
//   - at most `max_subscribers` sessions follow at once (events --follow, status --watch, logs
//     --follow, --wait); one more gets `{"ok":false,"error":"too many followers (N): ..."}` and
//     is closed, so followers never take the slots that `status` and `stop` need;
//   - a session that is not subscribed and sends no request for `idle_timeout` is closed;
//   - the client's end of file ends the session once what is queued for it has been written.
//
// The socket file: its parent directory is created (0755) when missing; a socket file left by
// a dead instance (connect is refused) is replaced, a live one (someone answers) is an error,
// as is anything that is not a socket. The file is chmod 0600 before listen(), so there is no
// moment at which another user could connect. close() or the destructor closes every session
// and removes the file (if it is still the one this server bound).
//
// A Handler's exception: the client gets `{"ok":false,"error":"internal error: WHAT"}`, its
// session is closed, and the exception goes on out of io_context::run() to the caller's
// exception boundary (runtime/run.cpp), which logs it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace mainstay::serve {

struct ControlLimits {
    std::size_t max_connections = 64;
    std::size_t max_subscribers = 48;         // the other 16 slots stay for one-time requests
    std::size_t max_line = 64 * 1024;         // bytes of one request line, without its '\n'
    std::size_t output_budget = 1024 * 1024;  // bytes queued for one client, not yet written
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds write_timeout{30'000};
};

// One client connection, as the Handler sees it. Held by shared_ptr: a subscriber keeps it
// after its request was answered and sends to it as things happen. All calls on the
// io_context's thread.
class ControlSession {
public:
    virtual ~ControlSession() = default;

    // Queues `message` as one line (invalid UTF-8 in strings is replaced, never thrown). false
    // when the session is no longer open, or when the line would pass the output budget: the
    // client is then disconnected.
    virtual bool send(const nlohmann::json& message) = 0;
    // Ends the session once everything queued has been written. Lines still unread from the
    // client are ignored.
    virtual void close() = 0;
    // true until close() was asked for or the session ended (the client left, a limit, a write
    // error): from then on send() returns false.
    virtual bool open() const = 0;
    // Makes this session a subscriber (events --follow, status --watch): the idle timeout no
    // longer applies, and `on_close` runs once when the session ends for any reason, so the
    // subscriber can unsubscribe. It runs posted on the io_context, never from inside send() or
    // close(), so a loop that sends to every subscriber may safely drop one. On a session that
    // has already ended it runs all the same (posted). Sessions ended by the server's own
    // close() or destruction do not run it (the owner is going away too).
    virtual void subscribe(std::function<void()> on_close) = 0;

protected:
    ControlSession() = default;
    ControlSession(const ControlSession&) = delete;
    ControlSession& operator=(const ControlSession&) = delete;
};

class ControlServer {
public:
    // `request` is always a JSON object. The handler answers with session->send(), at once or
    // later (the session stays usable for further requests meanwhile).
    using Handler = std::function<void(const nlohmann::json& request, std::shared_ptr<ControlSession> session)>;

    // Listens on `path`, or returns nullptr and says why in `error` (never throws for an
    // operating-system failure). The server must be destroyed before `io`.
    static std::unique_ptr<ControlServer> open(boost::asio::io_context& io, const std::filesystem::path& path,
                                               Handler handler, std::string& error, ControlLimits limits = {});

    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Stops accepting, drops every session, removes the socket file. Idempotent.
    void close();

    const std::filesystem::path& path() const;
    // Sessions currently open (including those draining their output before closing).
    std::size_t sessions() const;

    struct Core;  // the state shared with the sessions (defined in the .cpp)

private:
    explicit ControlServer(std::shared_ptr<Core> core);
    std::shared_ptr<Core> core_;
};

}  // namespace mainstay::serve
