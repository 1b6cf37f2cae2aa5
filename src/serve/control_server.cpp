#include "serve/control_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

#include "config/values.hpp"
#include "serve/accept_loop.hpp"
#include "serve/control_request.hpp"

namespace mainstay::serve {

namespace asio = boost::asio;
using boost::system::error_code;
using Local = asio::local::stream_protocol;
using nlohmann::json;

namespace {

constexpr int kBacklog = 64;
std::string describe(const error_code& ec) {
    return config::lowercase_first(ec.message());
}

json failure(std::string message) {
    return json{{"ok", false}, {"error", std::move(message)}};
}

std::string line_of(const json& message) {
    std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
    line += '\n';
    return line;
}

// One line to a client just accepted and not admitted, without waiting: the socket's send
// buffer is empty, so a short line always fits; then the socket is closed.
void refuse(Local::socket& socket, const json& message) {
    const std::string line = line_of(message);
    ssize_t ignored = ::send(socket.native_handle(), line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)ignored;
    error_code ec;
    socket.close(ec);
}

// Creates the missing directories leading to `dir`, each 0755 whatever the umask.
bool make_directories(const std::filesystem::path& dir, std::string& error) {
    if (dir.empty()) return true;
    std::vector<std::filesystem::path> missing;
    for (auto p = dir; !p.empty(); p = p.parent_path()) {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                error = "cannot create the control socket's directory: " + p.string() + " is not a directory";
                return false;
            }
            break;
        }
        missing.push_back(p);
        if (p == p.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
            error = "cannot create directory " + it->string() + ": " + config::errno_text(errno);
            return false;
        }
        ::chmod(it->c_str(), 0755);
    }
    return true;
}

// Makes room for a new socket at `path`: nothing there is fine; a socket nobody answers on is
// a leftover of a dead server and is removed; a live one, or anything else, is an error.
bool clear_stale(const std::string& path, std::string& error) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return true;
        error = "cannot check control socket " + path + ": " + config::errno_text(errno);
        return false;
    }
    if (!S_ISSOCK(st.st_mode)) {
        error = "control socket path " + path + " exists and is not a socket";
        return false;
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = "cannot check control socket " + path + ": socket: " + config::errno_text(errno);
        return false;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    const int result = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    const int connect_error = result == 0 ? 0 : errno;
    ::close(fd);
    if (connect_error == 0 || connect_error == EAGAIN) {  // EAGAIN: alive, its backlog is full
        error = "another server is listening on control socket " + path + " (is mainstay already running?)";
        return false;
    }
    if (connect_error == ENOENT) return true;  // removed meanwhile
    if (connect_error != ECONNREFUSED) {
        error = "cannot check control socket " + path + ": connect: " + config::errno_text(connect_error);
        return false;
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        error = "cannot remove stale control socket " + path + ": " + config::errno_text(errno);
        return false;
    }
    return true;
}

class Session;

}  // namespace

struct ControlServer::Core : std::enable_shared_from_this<ControlServer::Core> {
    Core(asio::io_context& context, std::filesystem::path where, Handler h, ControlLimits l)
        : io(context), path(std::move(where)), handler(std::move(h)), limits(l), acceptor(context), pause(context) {}

    void accept();
    void admit(Local::socket socket);
    void close();

    asio::io_context& io;
    std::filesystem::path path;
    Handler handler;
    ControlLimits limits;
    Local::acceptor acceptor;
    asio::steady_timer pause;
    std::unordered_set<Session*> sessions;
    dev_t device{};
    ino_t inode{};
    std::size_t subscribers{0};  // sessions that follow (events --follow, status --watch, logs -f)
    bool closed{false};
};

namespace {

class Session final : public ControlSession, public std::enable_shared_from_this<Session> {
public:
    Session(std::shared_ptr<ControlServer::Core> core, Local::socket socket)
        : core_(std::move(core)), socket_(std::move(socket)), idle_(core_->io), write_deadline_(core_->io) {
        core_->sessions.insert(this);
    }
    ~Session() override { core_->sessions.erase(this); }

    void start() {
        arm_idle();
        read();
    }

    bool send(const json& message) override {
        if (state_ != State::open) return false;
        std::string line = line_of(message);
        if (outbox_.size() + writing_.size() + line.size() > core_->limits.output_budget) {
            end(true);  // a client that does not read: never let its queue grow
            return false;
        }
        outbox_ += line;
        flush();
        return true;
    }

    void close() override {
        if (state_ != State::open) return;
        state_ = State::closing;
        if (writing_.empty() && outbox_.empty()) end(true);
    }

    bool open() const override { return state_ == State::open; }

    void subscribe(std::function<void()> on_close) override {
        on_close_ = std::move(on_close);
        if (state_ == State::ended) return notify_closed();  // too late to subscribe: say so at once
        if (subscribed_) return;
        if (core_->subscribers >= core_->limits.max_subscribers) {
            // The rest of the slots are kept for the one-time requests (`status`, `stop`).
            send(failure("too many followers (" + std::to_string(core_->limits.max_subscribers) +
                         "): --follow and --watch are refused until one ends; status and the other "
                         "one-time requests still work"));
            return close();
        }
        subscribed_ = true;
        ++core_->subscribers;
    }

    // Ends the session now, whatever is still queued. `notify`: run on_close (not when the
    // server itself goes away).
    void end(bool notify) {
        if (state_ == State::ended) return;
        state_ = State::ended;
        error_code ignored;
        socket_.close(ignored);
        idle_.cancel();
        write_deadline_.cancel();
        core_->sessions.erase(this);
        if (subscribed_) --core_->subscribers;
        subscribed_ = false;
        if (notify) notify_closed();
        on_close_ = nullptr;
    }

private:
    enum class State { open, closing, ended };

    std::shared_ptr<Session> self() { return shared_from_this(); }

    // Runs on_close, posted (see ControlSession::subscribe), unless the server is gone by then.
    void notify_closed() {
        if (!on_close_) return;
        asio::post(core_->io, [self = self(), callback = std::move(on_close_)] {
            if (!self->core_->closed) callback();
        });
        on_close_ = nullptr;
    }

    void read() {
        socket_.async_read_some(asio::buffer(chunk_),
                                [self = self()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
    }

    void on_read(const error_code& ec, std::size_t n) {
        if (state_ != State::open) return;
        if (ec) {
            // End of file: the client is done; what is queued still goes out. An error: gone.
            if (ec == asio::error::eof) return close();
            return end(true);
        }
        input_.append(chunk_.data(), n);
        std::size_t start = 0;
        for (std::size_t newline; state_ == State::open && (newline = input_.find('\n', start)) != std::string::npos;) {
            const std::string_view line(input_.data() + start, newline - start);
            start = newline + 1;
            if (line.size() > core_->limits.max_line) return too_long();
            handle(line);
        }
        if (state_ != State::open) return;
        input_.erase(0, start);
        if (input_.size() > core_->limits.max_line) return too_long();
        read();
    }

    void too_long() {
        send(failure("request line too long (over " + std::to_string(core_->limits.max_line) + " bytes)"));
        input_.clear();
        close();
    }

    void handle(std::string_view line) {
        ControlLine parsed = parse_control_line(line);
        if (parsed.kind == ControlLine::Kind::blank) return;
        if (parsed.kind == ControlLine::Kind::malformed) {
            send(failure(std::move(parsed.error)));
            return;
        }
        arm_idle();
        try {
            core_->handler(parsed.request, self());
        } catch (const std::exception& e) {
            send(failure(std::string("internal error: ") + e.what()));
            close();
            throw;
        }
    }

    void flush() {
        if (state_ == State::ended) return;
        if (!writing_.empty()) return;  // its completion comes back here
        if (outbox_.empty()) {
            if (state_ == State::closing) end(true);
            return;
        }
        writing_.swap(outbox_);
        if (outbox_.capacity() > 64 * 1024) outbox_ = std::string();  // give a burst's memory back
        write_deadline_.expires_after(core_->limits.write_timeout);
        write_deadline_.async_wait([self = self()](const error_code& ec) {
            if (!ec && self->state_ != State::ended && !self->writing_.empty()) self->end(true);
        });
        asio::async_write(socket_, asio::buffer(writing_), [self = self()](const error_code& ec, std::size_t) {
            if (self->state_ == State::ended) return;
            if (ec) return self->end(true);
            self->writing_.clear();
            self->write_deadline_.cancel();
            self->flush();
        });
    }

    // Idle: no request for idle_timeout. A subscriber is exempt, and so is a session whose
    // answer is still being written (its deadline is the write timeout).
    void arm_idle() {
        if (subscribed_) return;
        idle_.expires_after(core_->limits.idle_timeout);
        idle_.async_wait([self = self()](const error_code& ec) {
            if (ec || self->state_ != State::open || self->subscribed_) return;
            if (!self->writing_.empty()) return self->arm_idle();
            self->close();
        });
    }

    std::shared_ptr<ControlServer::Core> core_;
    Local::socket socket_;
    asio::steady_timer idle_;
    asio::steady_timer write_deadline_;
    std::array<char, 8192> chunk_{};
    std::string input_;    // received, not yet a whole line
    std::string outbox_;   // queued, not yet being written
    std::string writing_;  // being written now
    bool subscribed_{false};
    std::function<void()> on_close_;
    State state_{State::open};
};

}  // namespace

void ControlServer::Core::accept() {
    accept_next(shared_from_this());
}

void ControlServer::Core::admit(Local::socket socket) {
    set_cloexec(socket.native_handle());
    ucred peer{};
    socklen_t size = sizeof peer;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
        return refuse(socket, failure("cannot identify the client: " + config::errno_text(errno)));
    }
    if (peer.uid != 0 && peer.uid != ::geteuid()) {
        return refuse(socket, failure("permission denied: uid " + std::to_string(peer.uid)));
    }
    if (sessions.size() >= limits.max_connections) {
        return refuse(socket, failure("too many connections (" + std::to_string(limits.max_connections) + ")"));
    }
    std::make_shared<Session>(shared_from_this(), std::move(socket))->start();
}

void ControlServer::Core::close() {
    if (closed) return;
    closed = true;
    error_code ignored;
    acceptor.close(ignored);
    pause.cancel();
    // end() erases from `sessions`; hold each one while it ends.
    std::vector<std::shared_ptr<Session>> open;
    for (Session* s : sessions) open.push_back(s->shared_from_this());
    for (auto& s : open) s->end(false);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && st.st_dev == device && st.st_ino == inode) ::unlink(path.c_str());
}

std::unique_ptr<ControlServer> ControlServer::open(asio::io_context& io, const std::filesystem::path& path,
                                                   Handler handler, std::string& error, ControlLimits limits) {
    const std::string where = path.string();
    if (where.empty()) {
        error = "control socket path is empty";
        return nullptr;
    }
    if (where.size() >= sizeof(sockaddr_un::sun_path)) {
        error = "control socket path too long (" + std::to_string(where.size()) + " bytes, at most " +
                std::to_string(sizeof(sockaddr_un::sun_path) - 1) + "): " + where;
        return nullptr;
    }
    if (!make_directories(path.parent_path(), error) || !clear_stale(where, error)) return nullptr;

    auto core = std::make_shared<Core>(io, path, std::move(handler), limits);
    error_code ec;
    core->acceptor.open(Local(), ec);
    if (ec) {
        error = "cannot create control socket: " + describe(ec);
        return nullptr;
    }
    set_cloexec(core->acceptor.native_handle());
    if (core->acceptor.bind(Local::endpoint(where), ec); ec) {
        error = "cannot bind control socket " + where + ": " + describe(ec);
        return nullptr;
    }
    // Before listen(): until then every connect is refused, so the mode applies from the start.
    struct stat st {};
    if (::chmod(where.c_str(), 0600) != 0 || ::lstat(where.c_str(), &st) != 0) {
        error = "cannot restrict control socket " + where + " to mode 0600: " + config::errno_text(errno);
        ::unlink(where.c_str());
        return nullptr;
    }
    core->device = st.st_dev;
    core->inode = st.st_ino;
    if (core->acceptor.listen(kBacklog, ec); ec) {
        error = "cannot listen on control socket " + where + ": " + describe(ec);
        ::unlink(where.c_str());
        return nullptr;
    }
    core->accept();
    return std::unique_ptr<ControlServer>(new ControlServer(std::move(core)));
}

ControlServer::ControlServer(std::shared_ptr<Core> core) : core_(std::move(core)) {}

ControlServer::~ControlServer() {
    close();
}

void ControlServer::close() {
    core_->close();
}

const std::filesystem::path& ControlServer::path() const {
    return core_->path;
}

std::size_t ControlServer::sessions() const {
    return core_->sessions.size();
}

}  // namespace mainstay::serve
