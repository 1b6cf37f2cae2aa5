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
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitInternal = 70;

const char* const kUsage = R"(usage: test-service [flags]
  --listen PORT                 listen TCP on 127.0.0.1:PORT (0 = ephemeral)
  --unix-socket PATH            listen on a unix stream socket at PATH
  --port-file FILE              write the actual TCP port (tmp+rename) once listening
  --ready-after MS              open the listeners only after MS ms
  --http                        answer each request with HTTP/1.1 200 "OK\n" (Connection: close)
  --healthy-file FILE           --http: 503 "unhealthy\n" while FILE is missing;
                                without --http: listeners closed while FILE is missing
  --route PATH=BODY             --http: answer GET/HEAD of PATH (query ignored) with 200 and
                                BODY (application/json when it starts with { or [); with any
                                --route, other paths get 404 "not found\n"; repeatable
  --hang                        accept connections, never answer or close them
  --exit-after MS               run the finish action (exit or --die-signal) after MS ms
  --exit-code C                 finish by exiting with C (default 0)
  --die-signal SIG              finish by killing itself with SIG (number or name)
  --ignore-sigterm              ignore SIGTERM and SIGINT (also in the grandchild)
  --fork-grandchild             fork a grandchild in the same process group that sleeps
  --grandchild-new-session      the grandchild calls setsid() (implies --fork-grandchild)
  --grandchild-pid-file FILE    the grandchild writes its pid there (tmp+rename)
  --orphan-grandchild           exit 0 right after forking (implies --fork-grandchild)
  --print-lines N               print N lines "line <i> xxx...\n"
  --lines-per-second R          print at R lines/s (forever, or N lines with --print-lines)
  --line-length L               bytes per line incl. newline (default 100)
  --stderr                      print the lines on stderr instead of stdout
  --stay                        keep running after the --print-lines output
  --pid-file FILE               write own pid (tmp+rename) at start
  --start-file FILE             append "<pid> <CLOCK_MONOTONIC ns>\n" at start
  --env-dump FILE               write CWD=, FDS= and the environment at start
  --sigmask-dump FILE           write SigBlk:/SigIgn: and "PGID= SID= PID=" at start
  --notify MSG@MS               send MSG (';' separates lines) to $NOTIFY_SOCKET at MS ms; repeatable
  --notify-every MSG@MS         send MSG to $NOTIFY_SOCKET every MS ms
  --ready-fd N@MS               write a newline on descriptor N at MS ms
)";

struct Options {
    std::optional<int> listen_port;
    std::string unix_socket, port_file, healthy_file;
    std::vector<std::pair<std::string, std::string>> routes;  // --route PATH=BODY, in order
    long ready_after_ms = 0;
    bool http = false, hang = false;
    std::optional<long> exit_after_ms;
    std::optional<int> exit_code;
    std::optional<int> die_signal;
    bool ignore_sigterm = false;
    bool fork_grandchild = false, grandchild_new_session = false, orphan_grandchild = false;
    std::string grandchild_pid_file;
    std::optional<long long> print_lines;
    std::optional<long long> lines_per_second;
    long line_length = 100;
    bool use_stderr = false, stay = false;
    std::string pid_file, start_file, env_dump, sigmask_dump;
    // --notify, --notify-every, --ready-fd: what to do when (fd -1: a notify message).
    struct Push {
        std::string message;
        int fd = -1;
        long at_ms = 0;
        long every_ms = 0;
    };
    std::vector<Push> pushes;
};

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "test-service: %s\n(see --help)\n", msg.c_str());
    std::exit(kExitUsage);
}

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "test-service: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(kExitInternal);
}

long long parse_int(std::string_view flag, std::string_view s, long long lo, long long hi) {
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi)
        usage_error(std::string(flag) + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                    "], got '" + std::string(s) + "'");
    return v;
}

int parse_signal(std::string_view s) {
    if (!s.empty() && s[0] >= '0' && s[0] <= '9') return int(parse_int("--die-signal", s, 1, SIGRTMAX));
    if (s.starts_with("SIG")) s.remove_prefix(3);
    static const struct {
        const char* name;
        int sig;
    } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
                 {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
                 {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
                 {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
                 {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
                 {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"SYS", SIGSYS}};
    for (const auto& n : names)
        if (s == n.name) return n.sig;
    usage_error("--die-signal: unknown signal '" + std::string(s) + "'");
}

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view f = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) usage_error(std::string(f) + " needs a value");
            return argv[++i];
        };
        if (f == "--help" || f == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (f == "--listen")
            o.listen_port = int(parse_int(f, value(), 0, 65535));
        else if (f == "--unix-socket")
            o.unix_socket = value();
        else if (f == "--port-file")
            o.port_file = value();
        else if (f == "--ready-after")
            o.ready_after_ms = long(parse_int(f, value(), 0, 86400000));
        else if (f == "--http")
            o.http = true;
        else if (f == "--healthy-file")
            o.healthy_file = value();
        else if (f == "--route") {
            const std::string_view v = value();
            const auto eq = v.find('=');
            if (eq == std::string_view::npos || eq == 0 || v[0] != '/')
                usage_error("--route: expected PATH=BODY with PATH starting with '/', got '" + std::string(v) + "'");
            o.routes.emplace_back(std::string(v.substr(0, eq)), std::string(v.substr(eq + 1)));
        } else if (f == "--hang")
            o.hang = true;
        else if (f == "--exit-after")
            o.exit_after_ms = long(parse_int(f, value(), 0, 86400000));
        else if (f == "--exit-code")
            o.exit_code = int(parse_int(f, value(), 0, 255));
        else if (f == "--die-signal")
            o.die_signal = parse_signal(value());
        else if (f == "--ignore-sigterm")
            o.ignore_sigterm = true;
        else if (f == "--fork-grandchild")
            o.fork_grandchild = true;
        else if (f == "--grandchild-new-session")
            o.grandchild_new_session = o.fork_grandchild = true;
        else if (f == "--orphan-grandchild")
            o.orphan_grandchild = o.fork_grandchild = true;
        else if (f == "--grandchild-pid-file")
            o.grandchild_pid_file = value();
        else if (f == "--print-lines")
            o.print_lines = parse_int(f, value(), 0, 1LL << 50);
        else if (f == "--lines-per-second")
            o.lines_per_second = parse_int(f, value(), 1, 100000000);
        else if (f == "--line-length")
            o.line_length = long(parse_int(f, value(), 1, 1 << 20));
        else if (f == "--stderr")
            o.use_stderr = true;
        else if (f == "--stay")
            o.stay = true;
        else if (f == "--pid-file")
            o.pid_file = value();
        else if (f == "--start-file")
            o.start_file = value();
        else if (f == "--env-dump")
            o.env_dump = value();
        else if (f == "--sigmask-dump")
            o.sigmask_dump = value();
        else if (f == "--notify" || f == "--notify-every" || f == "--ready-fd") {
            const std::string_view v = value();
            const auto at = v.rfind('@');
            if (at == std::string_view::npos || at == 0)
                usage_error(std::string(f) + ": expected WHAT@MS, got '" + std::string(v) + "'");
            Options::Push p;
            const long ms = long(parse_int(f, v.substr(at + 1), f == "--notify-every" ? 1 : 0, 86400000));
            if (f == "--ready-fd")
                p.fd = int(parse_int(f, v.substr(0, at), 0, 1023));
            else
                p.message = std::string(v.substr(0, at));
            std::replace(p.message.begin(), p.message.end(), ';', '\n');
            p.at_ms = ms;
            if (f == "--notify-every") p.every_ms = ms;
            o.pushes.push_back(std::move(p));
        } else
            usage_error("unknown flag '" + std::string(f) + "'");
    }
    const bool listens = o.listen_port || !o.unix_socket.empty();
    if (!listens && (o.http || o.hang || !o.healthy_file.empty() || !o.port_file.empty() || o.ready_after_ms))
        usage_error("--http/--hang/--healthy-file/--port-file/--ready-after need --listen or --unix-socket");
    if (!o.port_file.empty() && !o.listen_port) usage_error("--port-file needs --listen");
    if (!o.routes.empty() && !o.http) usage_error("--route needs --http");
    if (!o.grandchild_pid_file.empty() && !o.fork_grandchild)
        usage_error("--grandchild-pid-file needs --fork-grandchild");
    if (!o.print_lines && !o.lines_per_second && (o.use_stderr || o.line_length != 100))
        usage_error("--stderr/--line-length need --print-lines or --lines-per-second");
    return o;
}

// ---- small POSIX helpers ----------------------------------------------------

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Writes everything, retrying on EINTR, partial writes and EAGAIN (a
// non-blocking fd is waited on with poll). Returns false on a real error.
bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= std::size_t(w);
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd pfd{fd, POLLOUT, 0};
            if (::poll(&pfd, 1, -1) < 0 && errno != EINTR) return false;
            continue;
        }
        return false;
    }
    return true;
}
bool write_all(int fd, std::string_view s) {
    return write_all(fd, s.data(), s.size());
}

void say(std::string_view line) {  // one line on stdout; a failure is fatal
    if (!write_all(STDOUT_FILENO, line)) fail("write to stdout");
}

// Write FILE.tmp, then rename it over FILE: readers never see a partial file.
void write_file_atomic(const std::string& path, std::string_view content) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("open " + tmp);
    if (!write_all(fd, content)) fail("write " + tmp);
    if (::close(fd) != 0) fail("close " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename " + tmp);
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

void set_disposition(int sig, void (*handler)(int)) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(sig, &sa, nullptr) != 0) fail("sigaction");
}

[[noreturn]] void die_by_signal(int sig) {
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // SEGV/ABRT must not litter core files
    if (sig != SIGKILL && sig != SIGSTOP) set_disposition(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::kill(::getpid(), sig);
    std::fprintf(stderr, "test-service: signal %d did not terminate the process\n", sig);
    std::exit(kExitInternal);
}

// ---- start-up dumps -----------------------------------------------------------

extern "C" char** environ;

void dump_env(const std::string& path) {
    std::string out = "CWD=";
    std::vector<char> cwd(4096);
    if (!::getcwd(cwd.data(), cwd.size())) fail("getcwd");
    out += cwd.data();
    out += "\nFDS=";
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) fail("opendir /proc/self/fd");
    std::vector<int> fds;
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.') continue;
        const int fd = std::atoi(e->d_name);
        if (fd != ::dirfd(dir)) fds.push_back(fd);
    }
    ::closedir(dir);
    std::sort(fds.begin(), fds.end());
    for (std::size_t i = 0; i < fds.size(); ++i) out += (i ? "," : "") + std::to_string(fds[i]);
    out += '\n';
    for (char** e = environ; *e; ++e) {
        out += *e;
        out += '\n';
    }
    write_file_atomic(path, out);
}

void dump_sigmask(const std::string& path) {
    std::ifstream status("/proc/self/status");
    if (!status) fail("open /proc/self/status");
    std::string out, line;
    while (std::getline(status, line))
        if (line.starts_with("SigBlk:") || line.starts_with("SigIgn:")) out += line + '\n';
    out += "PGID=" + std::to_string(::getpgrp()) + " SID=" + std::to_string(::getsid(0)) +
           " PID=" + std::to_string(::getpid()) + '\n';
    write_file_atomic(path, out);
}

// ---- grandchild -----------------------------------------------------------------

void fork_grandchild(const Options& o) {
    int sync_pipe[2];  // the parent reads EOF once the grandchild has written its pid file
    if (::pipe2(sync_pipe, O_CLOEXEC) != 0) fail("pipe2");
    const pid_t pid = ::fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        ::close(sync_pipe[0]);
        if (o.grandchild_new_session && ::setsid() < 0) fail("setsid");
        set_disposition(SIGTERM, o.ignore_sigterm ? SIG_IGN : SIG_DFL);
        set_disposition(SIGINT, o.ignore_sigterm ? SIG_IGN : SIG_DFL);
        if (!o.grandchild_pid_file.empty()) write_file_atomic(o.grandchild_pid_file, std::to_string(::getpid()) + '\n');
        ::close(sync_pipe[1]);
        for (;;) ::pause();
    }
    ::close(sync_pipe[1]);
    char c;
    while (::read(sync_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::close(sync_pipe[0]);
    if (o.orphan_grandchild) std::exit(0);
}

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

int main(int argc, char** argv) {
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
