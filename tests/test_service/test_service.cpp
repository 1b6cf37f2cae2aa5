// test-service: a small, controllable child process for integration tests and
// benchmarks of the supervisor. Plain C++20 + POSIX, no third-party code.
//
// Run `test-service --help` for the flags. Exit codes: as asked by
// --exit-code, 0 on SIGTERM/SIGINT, 64 usage error, 70 internal error.
//
// Startup order (fixed, so tests can rely on it):
//   1. --sigmask-dump and --env-dump (before this program changes anything)
//   2. SIGTERM/SIGINT ignored if --ignore-sigterm; SIGPIPE ignored
//   3. --pid-file, --start-file
//   4. grandchild forked (the parent waits until its pid file is written);
//      with --orphan-grandchild the parent exits 0 here
//   5. event loop: --ready-after timer, then listeners + --port-file +
//      "listening on ..." lines; line printing; --exit-after timer.
//
// When it ends ("finish action" = exit with --exit-code, or --die-signal):
//   - with --exit-after MS: the finish action at MS ms;
//   - else with --exit-code/--die-signal: as soon as the --print-lines output
//     is done (at once without --print-lines);
//   - else with --print-lines N: exit 0 after the N lines, unless --listen,
//     --unix-socket, --fork-grandchild, --ignore-sigterm or --stay is given;
//   - else it runs until signalled (SIGTERM/SIGINT: "got SIGTERM"/"got SIGINT"
//     on stdout, exit 0; the unix socket file is removed).
// --healthy-file without --http: the listeners are opened (port file written,
// "listening on" printed) and then closed at once while FILE is missing;
// checked every 20 ms, reopened on the same TCP port when FILE exists again.
// Lines are "line <i> xxx...\n", padded to --line-length; a line whose
// "line <i> \n" is already longer is printed unpadded.
#include "test_service/test_service.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace test_service {
namespace {

// ---- signals: self-pipe ----------------------------------------------------------

int g_sig_pipe[2] = {-1, -1};

extern "C" void on_signal(int sig) {
    const int saved = errno;
    const char c = char(sig);
    [[maybe_unused]] ssize_t r = ::write(g_sig_pipe[1], &c, 1);
    errno = saved;
}

// ---- the service -------------------------------------------------------------------

struct Conn {
    int fd;
    std::string in, out;
    std::size_t sent = 0;
    bool responding = false;
};

class Service {
public:
    explicit Service(const Options& o) : o_(o), line_fd_(o.use_stderr ? STDERR_FILENO : STDOUT_FILENO) {}

    [[noreturn]] void run() {
        const std::int64_t start = now_ns();
        if (o_.listen_port || !o_.unix_socket.empty()) ready_at_ = start + o_.ready_after_ms * 1'000'000;
        if (o_.exit_after_ms) finish_at_ = start + *o_.exit_after_ms * 1'000'000;
        rate_start_ = start;
        for (const auto& p : o_.pushes) push_at_.push_back(start + std::int64_t(p.at_ms) * 1'000'000);
        for (;;) {
            const std::int64_t now = now_ns();
            if (finish_at_ && now >= *finish_at_) finish();
            for (std::size_t i = 0; i < push_at_.size(); ++i) {
                if (push_at_[i] < 0 || now < push_at_[i]) continue;
                push(o_.pushes[i]);
                push_at_[i] = o_.pushes[i].every_ms ? now + std::int64_t(o_.pushes[i].every_ms) * 1'000'000 : -1;
            }
            if (ready_at_ && now >= *ready_at_) {
                ready_at_.reset();
                open_listeners();
            }
            if (listening_ && non_http_health_gated() && now >= next_health_check_) check_health_gate(now);
            const bool more_lines = print_some(now);
            if (!more_lines && !lines_done_) {
                lines_done_ = true;
                on_lines_done();
            }

            std::int64_t deadline = -1;
            auto consider = [&](std::int64_t t) {
                if (deadline < 0 || t < deadline) deadline = t;
            };
            if (finish_at_) consider(*finish_at_);
            if (ready_at_) consider(*ready_at_);
            for (std::int64_t t : push_at_)
                if (t >= 0) consider(t);
            if (listening_ && non_http_health_gated()) consider(next_health_check_);
            if (more_lines) consider(o_.lines_per_second ? next_line_at() : now);  // fast mode: no wait
            poll_once(deadline);
        }
    }

private:
    // One --notify datagram to $NOTIFY_SOCKET ('@' = abstract), or --ready-fd's newline.
    void push(const Options::Push& p) {
        if (p.fd >= 0) {
            if (::write(p.fd, "\n", 1) != 1)
                std::fprintf(stderr, "test-service: ready fd %d: %s\n", p.fd, std::strerror(errno));
            return;
        }
        const char* path = std::getenv("NOTIFY_SOCKET");
        if (path == nullptr || *path == '\0') {
            std::fprintf(stderr, "test-service: no NOTIFY_SOCKET\n");
            return;
        }
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        const std::size_t n = std::min(std::strlen(path), sizeof sun.sun_path - 1);
        std::memcpy(sun.sun_path, path, n);
        if (sun.sun_path[0] == '@') sun.sun_path[0] = '\0';
        const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) fail("socket");
        if (::sendto(fd, p.message.data(), p.message.size(), 0, reinterpret_cast<const sockaddr*>(&sun),
                     socklen_t(offsetof(sockaddr_un, sun_path) + n)) < 0)
            std::fprintf(stderr, "test-service: notify %s: %s\n", path, std::strerror(errno));
        ::close(fd);
    }

    bool non_http_health_gated() const { return !o_.http && !o_.healthy_file.empty(); }

    bool finite_lines() const { return o_.print_lines || o_.lines_per_second; }
    long long lines_total() const { return o_.print_lines ? *o_.print_lines : -1; }  // -1: forever

    std::int64_t next_line_at() const {
        return rate_start_ + std::int64_t((double(printed_) + 1) * 1e9 / double(*o_.lines_per_second)) + 1;
    }

    void append_line(std::string& buf, long long i) const {
        const std::size_t before = buf.size();
        buf += "line ";
        buf += std::to_string(i);
        buf += ' ';
        const std::size_t used = buf.size() - before + 1;  // +1 for the newline
        if (used < std::size_t(o_.line_length)) buf.append(std::size_t(o_.line_length) - used, 'x');
        buf += '\n';
    }

    // Prints what is due now (a bounded chunk in fast mode, so signals are seen
    // between chunks). Returns true while more lines remain to be printed.
    bool print_some(std::int64_t now) {
        if (!finite_lines()) return false;
        const long long total = lines_total();
        if (total >= 0 && printed_ >= total) return false;
        long long upto;
        if (o_.lines_per_second) {
            upto = (long long)(double(now - rate_start_) * double(*o_.lines_per_second) / 1e9);
        } else {
            upto = printed_ + std::max(1L, 65536L / o_.line_length);
        }
        if (total >= 0 && upto > total) upto = total;
        if (upto > printed_) {
            std::string buf;
            for (long long i = printed_; i < upto; ++i) append_line(buf, i);
            if (!write_all(line_fd_, buf)) fail("write lines");
            printed_ = upto;
        }
        return total < 0 || printed_ < total;
    }

    void on_lines_done() {
        if (finish_at_) return;  // --exit-after decides
        if (o_.exit_code || o_.die_signal) finish();
        const bool persistent =
            o_.listen_port || !o_.unix_socket.empty() || o_.ignore_sigterm || o_.fork_grandchild || o_.stay;
        if (o_.print_lines && !persistent) clean_exit(0);
    }

    [[noreturn]] void finish() {
        if (o_.die_signal) die_by_signal(*o_.die_signal);
        clean_exit(o_.exit_code.value_or(0));
    }

    [[noreturn]] void clean_exit(int code) {
        if (unix_fd_ >= 0) ::unlink(o_.unix_socket.c_str());
        std::exit(code);
    }

    int make_listener(int family, const sockaddr* addr, socklen_t len) {
        const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) fail("socket");
        const int one = 1;
        if (family == AF_INET) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, addr, len) != 0 || ::listen(fd, 128) != 0) {
            const int e = errno;
            ::close(fd);
            errno = e;
            return -1;
        }
        return fd;
    }

    // Returns false (errno set) if a listener could not be opened.
    bool bind_all() {
        if (!o_.unix_socket.empty() && unix_fd_ < 0) {
            sockaddr_un sun{};
            sun.sun_family = AF_UNIX;
            if (o_.unix_socket.size() >= sizeof sun.sun_path) {
                errno = ENAMETOOLONG;
                return false;
            }
            std::memcpy(sun.sun_path, o_.unix_socket.c_str(), o_.unix_socket.size() + 1);
            ::unlink(o_.unix_socket.c_str());
            unix_fd_ = make_listener(AF_UNIX, reinterpret_cast<const sockaddr*>(&sun), sizeof sun);
            if (unix_fd_ < 0) return false;
        }
        if (o_.listen_port && tcp_fd_ < 0) {
            sockaddr_in sin{};
            sin.sin_family = AF_INET;
            sin.sin_port = htons(std::uint16_t(port_ >= 0 ? port_ : *o_.listen_port));
            sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            tcp_fd_ = make_listener(AF_INET, reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
            if (tcp_fd_ < 0) return false;
            if (port_ < 0) {
                socklen_t len = sizeof sin;
                if (::getsockname(tcp_fd_, reinterpret_cast<sockaddr*>(&sin), &len) != 0) fail("getsockname");
                port_ = ntohs(sin.sin_port);
            }
        }
        return true;
    }

    void close_listeners() {
        if (tcp_fd_ >= 0) {
            ::close(tcp_fd_);
            tcp_fd_ = -1;
        }
        if (unix_fd_ >= 0) {
            ::unlink(o_.unix_socket.c_str());
            ::close(unix_fd_);
            unix_fd_ = -1;
        }
    }

    void open_listeners() {
        if (!bind_all()) fail("listen");
        listening_ = true;
        if (!o_.port_file.empty()) write_file_atomic(o_.port_file, std::to_string(port_) + '\n');
        if (unix_fd_ >= 0) say("listening on unix:" + o_.unix_socket + '\n');
        if (tcp_fd_ >= 0) say("listening on 127.0.0.1:" + std::to_string(port_) + '\n');
        next_health_check_ = now_ns();
    }

    // Without --http, --healthy-file gates the listeners themselves: closed while
    // the file is missing, reopened (same TCP port) once it is back; 20 ms poll.
    void check_health_gate(std::int64_t now) {
        next_health_check_ = now + 20'000'000;
        const bool healthy = file_exists(o_.healthy_file);
        if (!healthy)
            close_listeners();
        else if ((tcp_fd_ < 0 && o_.listen_port) || (unix_fd_ < 0 && !o_.unix_socket.empty())) {
            if (!bind_all()) {
                if (!bind_warned_)
                    std::fprintf(stderr, "test-service: reopen failed (%s), retrying\n", std::strerror(errno));
                bind_warned_ = true;
            }
        }
    }

    void accept_on(int lfd) {
        for (;;) {
            const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                if (errno == EMFILE || errno == ENFILE) return;  // retried on the next poll
                fail("accept");
            }
            if (o_.hang)
                hung_.push_back(fd);  // held open, never answered
            else if (o_.http)
                conns_.push_back(Conn{fd, {}, {}});
            else
                ::close(fd);  // a TCP probe only needs connect
        }
    }

    // The path of the request line ("GET /api/tags?x HTTP/1.1" -> "/api/tags"), query cut off.
    static std::string_view request_path(std::string_view request) {
        const auto sp = request.find(' ');
        if (sp == std::string_view::npos) return {};
        std::string_view rest = request.substr(sp + 1);
        rest = rest.substr(0, std::min(rest.find(' '), rest.find("\r\n")));
        return rest.substr(0, rest.find('?'));
    }

    std::string http_response(std::string_view request) const {
        const bool healthy = o_.healthy_file.empty() || file_exists(o_.healthy_file);
        std::string_view status = healthy ? "200 OK" : "503 Service Unavailable";
        std::string_view body = healthy ? "OK\n" : "unhealthy\n";
        std::string_view type = "text/plain";
        if (healthy && !o_.routes.empty()) {
            const std::string_view path = request_path(request);
            const auto route =
                std::find_if(o_.routes.begin(), o_.routes.end(), [&](const auto& r) { return r.first == path; });
            if (route == o_.routes.end()) {
                status = "404 Not Found";
                body = "not found\n";
            } else {
                body = route->second;
                if (body.starts_with('{') || body.starts_with('[')) type = "application/json";
            }
        }
        std::string r = "HTTP/1.1 " + std::string(status) + "\r\nContent-Type: " + std::string(type) +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
        if (!request.starts_with("HEAD ")) r += body;
        return r;
    }

    // Returns false when the connection is finished and must be closed.
    bool service_conn(Conn& c, short revents) {
        if (!c.responding && (revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[4096];
            for (;;) {
                const ssize_t n = ::read(c.fd, buf, sizeof buf);
                if (n > 0) {
                    c.in.append(buf, std::size_t(n));
                    if (c.in.size() > 65536) break;
                    continue;
                }
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                return false;  // EOF or error before a full request: just close
            }
            if (c.in.find("\r\n\r\n") != std::string::npos || c.in.find("\n\n") != std::string::npos ||
                c.in.size() > 65536) {
                c.out = http_response(c.in);
                c.responding = true;
            }
        }
        if (c.responding) {
            while (c.sent < c.out.size()) {
                const ssize_t n = ::write(c.fd, c.out.data() + c.sent, c.out.size() - c.sent);
                if (n > 0) {
                    c.sent += std::size_t(n);
                    continue;
                }
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
                return false;
            }
            ::shutdown(c.fd, SHUT_WR);
            return false;
        }
        return true;
    }

    void handle_signals() {
        char sigs[64];
        for (;;) {
            const ssize_t n = ::read(g_sig_pipe[0], sigs, sizeof sigs);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            for (ssize_t i = 0; i < n; ++i) {
                if (sigs[i] == SIGCHLD) {
                    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
                    }
                } else if (sigs[i] == SIGTERM || sigs[i] == SIGINT) {
                    write_all(STDOUT_FILENO, sigs[i] == SIGTERM ? "got SIGTERM\n" : "got SIGINT\n");
                    clean_exit(0);
                }
            }
        }
    }

    void poll_once(std::int64_t deadline) {
        std::vector<pollfd> pfds;
        pfds.push_back({g_sig_pipe[0], POLLIN, 0});
        if (tcp_fd_ >= 0) pfds.push_back({tcp_fd_, POLLIN, 0});
        if (unix_fd_ >= 0) pfds.push_back({unix_fd_, POLLIN, 0});
        const std::size_t first_conn = pfds.size();
        for (const Conn& c : conns_) pfds.push_back({c.fd, short(c.responding ? POLLOUT : POLLIN), 0});

        timespec ts{}, *tsp = nullptr;
        if (deadline >= 0) {
            const std::int64_t left = std::max<std::int64_t>(0, deadline - now_ns());
            ts.tv_sec = time_t(left / 1'000'000'000);
            ts.tv_nsec = long(left % 1'000'000'000);
            tsp = &ts;
        }
        if (::ppoll(pfds.data(), pfds.size(), tsp, nullptr) < 0) {
            if (errno == EINTR) return;
            fail("ppoll");
        }
        if (pfds[0].revents) handle_signals();
        for (std::size_t i = 1; i < first_conn; ++i)
            if (pfds[i].revents & POLLIN) accept_on(pfds[i].fd);
        // conns_ may have grown in accept_on; only the first (pfds.size() - first_conn) were polled.
        std::vector<Conn> keep;
        for (std::size_t i = 0; i < conns_.size(); ++i) {
            const short rev = first_conn + i < pfds.size() ? pfds[first_conn + i].revents : 0;
            if (rev == 0 || service_conn(conns_[i], rev))
                keep.push_back(std::move(conns_[i]));
            else
                ::close(conns_[i].fd);
        }
        conns_ = std::move(keep);
    }

    const Options& o_;
    const int line_fd_;
    std::optional<std::int64_t> ready_at_, finish_at_;
    std::vector<std::int64_t> push_at_;  // per --notify/--ready-fd: when next, -1 when done
    std::int64_t rate_start_ = 0, next_health_check_ = 0;
    long long printed_ = 0;
    bool lines_done_ = false, listening_ = false, bind_warned_ = false;
    int tcp_fd_ = -1, unix_fd_ = -1, port_ = -1;
    std::vector<Conn> conns_;
    std::vector<int> hung_;
};

}  // namespace
}  // namespace test_service

int main(int argc, char** argv) {
    using namespace test_service;
    const Options o = parse_args(argc, argv);

    // 1. Dumps first, before this process changes its signal state or opens fds.
    if (!o.sigmask_dump.empty()) dump_sigmask(o.sigmask_dump);
    if (!o.env_dump.empty()) dump_env(o.env_dump);

    // 2. Dispositions.
    if (o.ignore_sigterm) {
        set_disposition(SIGTERM, SIG_IGN);
        set_disposition(SIGINT, SIG_IGN);
    }
    set_disposition(SIGPIPE, SIG_IGN);

    // 3. Start-up files.
    if (!o.pid_file.empty()) write_file_atomic(o.pid_file, std::to_string(::getpid()) + '\n');
    if (!o.start_file.empty()) {
        const int fd = ::open(o.start_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) fail("open " + o.start_file);
        const std::string line = std::to_string(::getpid()) + ' ' + std::to_string(now_ns()) + '\n';
        if (::write(fd, line.data(), line.size()) != ssize_t(line.size())) fail("write " + o.start_file);
        ::close(fd);
    }

    // 4. Grandchild (before the self-pipe and listeners exist, so it inherits none).
    if (o.fork_grandchild) fork_grandchild(o);

    // 5. Signals via a self-pipe, then the event loop.
    if (::pipe2(g_sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) fail("pipe2");
    set_disposition(SIGCHLD, on_signal);
    if (!o.ignore_sigterm) {
        set_disposition(SIGTERM, on_signal);
        set_disposition(SIGINT, on_signal);
    }
    Service(o).run();
}
