// Checks of the test-service program itself: spawned as a real child process.
// Every wait is event-driven with a generous deadline; the only bounded
// "nothing happens" waits are for negative checks (--ignore-sigterm, --hang).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/signal_guard.hpp"
#include "support/temp_dir.hpp"

#ifndef TEST_SERVICE_PATH
#error "TEST_SERVICE_PATH must be defined to the test-service executable"
#endif

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

extern "C" char** environ;

namespace {

constexpr auto kDeadline = 10s;

// A temporary directory whose `d / "name"` is a path as a string, for test-service's flags.
struct TempDir : mainstay::testing::TempDir {
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// A spawned test-service in its own process group; killed (whole group) and
// reaped on destruction. stdout and stderr are pipes read by the test.
class Child {
public:
    explicit Child(std::vector<std::string> args, std::vector<std::string> extra_env = {}, std::string cwd = {}) {
        int out[2], err[2];
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attr, 0);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);

        args.insert(args.begin(), TEST_SERVICE_PATH);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> env_store;
        for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
        for (auto& e : extra_env) env_store.push_back(e);
        std::vector<char*> envp;
        for (auto& e : env_store) envp.push_back(e.data());
        envp.push_back(nullptr);

        const int rc = ::posix_spawn(&pid_, TEST_SERVICE_PATH, &fa, &attr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        ::close(out[1]);
        ::close(err[1]);
        out_fd_ = out[0];
        err_fd_ = err[0];
        REQUIRE_MESSAGE(rc == 0, "posix_spawn: " << std::strerror(rc));
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (!status_) {  // still ours: kill the whole group (grandchildren too) and reap
            mainstay::testing::signal_group(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(out_fd_);
        ::close(err_fd_);
    }

    pid_t pid() const { return pid_; }

    // Waits for the exit status (event-driven through a pidfd).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = kDeadline) {
        if (status_) return status_;
        const int pfd = int(::syscall(SYS_pidfd_open, pid_, 0));
        REQUIRE(pfd >= 0);
        pollfd p{pfd, POLLIN, 0};
        int n;
        do n = ::poll(&p, 1, int(timeout.count()));
        while (n < 0 && errno == EINTR);
        ::close(pfd);
        if (n == 0) return std::nullopt;
        int st = 0;
        REQUIRE(::waitpid(pid_, &st, 0) == pid_);
        status_ = st;
        return status_;
    }

    // Reads the stream until EOF (or until `until` appears in it), bounded by the deadline.
    std::string read_stdout(const std::string& until = {}) { return drain(out_fd_, out_, until); }
    std::string read_stderr(const std::string& until = {}) { return drain(err_fd_, err_, until); }

private:
    static std::string drain(int fd, std::string& acc, const std::string& until) {
        const auto end = Clock::now() + kDeadline;
        while (until.empty() || acc.find(until) == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
            if (left <= 0ms) break;
            pollfd p{fd, POLLIN, 0};
            const int n = ::poll(&p, 1, int(left.count()));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            char buf[65536];
            const ssize_t r = ::read(fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            acc.append(buf, std::size_t(r));
        }
        return acc;
    }

    pid_t pid_ = -1;
    int out_fd_ = -1, err_fd_ = -1;
    std::string out_, err_;
    std::optional<int> status_;
};

// Waits (pidfd + poll, bounded) for a child of ours to exit and reaps it.
std::optional<int> wait_pid(pid_t pid, std::chrono::milliseconds timeout = kDeadline) {
    const int pfd = int(::syscall(SYS_pidfd_open, pid, 0));
    if (pfd < 0) return std::nullopt;
    pollfd p{pfd, POLLIN, 0};
    int n;
    do n = ::poll(&p, 1, int(timeout.count()));
    while (n < 0 && errno == EINTR);
    ::close(pfd);
    int st = 0;
    if (n <= 0 || ::waitpid(pid, &st, 0) != pid) return std::nullopt;
    return st;
}

// A grandchild reparented to us (we are a subreaper): SIGKILLed and reaped at
// scope exit unless the test already reaped it.
struct Grandchild {
    pid_t pid = -1;
    bool reaped = false;
    ~Grandchild() {
        if (pid > 0 && !reaped) {
            mainstay::testing::signal_process(pid, SIGKILL);
            wait_pid(pid);
        }
    }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Waits until `path` exists with a complete last line (files are written tmp+rename).
std::string wait_for_file(const std::string& path, Child* child = nullptr) {
    const auto end = Clock::now() + kDeadline;
    while (Clock::now() < end) {
        std::error_code ec;
        if (fs::exists(path, ec)) {
            const std::string s = slurp(path);
            if (!s.empty() && s.back() == '\n') return s;
        }
        if (child && child->wait_exit(0ms)) break;  // it died: the file will not come
        std::this_thread::sleep_for(2ms);
    }
    FAIL("timed out waiting for " << path);
    return {};
}

int connect_tcp(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(std::uint16_t(port));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

int connect_unix(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, path.c_str(), sizeof sun.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends a GET of `path` and reads the whole response (until EOF), bounded by `timeout`.
std::string http_get(int fd, std::chrono::milliseconds timeout = kDeadline, const std::string& path = "/health") {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(::write(fd, req.data(), req.size()) == ssize_t(req.size()));
    std::string resp;
    const auto end = Clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        if (left <= 0ms) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, int(left.count())) <= 0) break;
        char buf[4096];
        const ssize_t r = ::read(fd, buf, sizeof buf);
        if (r <= 0) break;
        resp.append(buf, std::size_t(r));
    }
    ::close(fd);
    return resp;
}

std::string body_of(const std::string& resp) {
    const auto p = resp.find("\r\n\r\n");
    return p == std::string::npos ? std::string() : resp.substr(p + 4);
}

// Waits until connecting to the port succeeds (want_open) or is refused.
bool wait_port_state(int port, bool want_open) {
    const auto end = Clock::now() + kDeadline;
    while (Clock::now() < end) {
        const int fd = connect_tcp(port);
        if (fd >= 0) ::close(fd);
        if ((fd >= 0) == want_open) return true;
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

bool exited_with(const std::optional<int>& st, int code) {
    return st && WIFEXITED(*st) && WEXITSTATUS(*st) == code;
}
bool killed_by(const std::optional<int>& st, int sig) {
    return st && WIFSIGNALED(*st) && WTERMSIG(*st) == sig;
}

std::string proc_field(pid_t pid, const std::string& key) {  // a line of /proc/<pid>/status
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(key + ":")) return line.substr(key.size() + 1);
    return {};
}

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> out;
    std::size_t b = 0;
    for (std::size_t e; (e = s.find('\n', b)) != std::string::npos; b = e + 1) out.push_back(s.substr(b, e - b));
    return out;
}

}  // namespace

TEST_CASE("test-service: unknown flag is a usage error (64)") {
    Child c({"--no-such-flag"});
    CHECK(exited_with(c.wait_exit(), 64));
    CHECK(c.read_stderr().find("unknown flag") != std::string::npos);
}

TEST_CASE("test-service: exit codes") {
    SUBCASE("--exit-code alone exits at once") {
        Child c({"--exit-code", "3"});
        CHECK(exited_with(c.wait_exit(), 3));
    }
    SUBCASE("--exit-after with --exit-code") {
        const auto t0 = Clock::now();
        Child c({"--exit-after", "50", "--exit-code", "7"});
        CHECK(exited_with(c.wait_exit(), 7));
        CHECK(Clock::now() - t0 >= 50ms);
    }
}

TEST_CASE("test-service: --die-signal") {
    SUBCASE("by name, at once") {
        Child c({"--die-signal", "SEGV"});
        CHECK(killed_by(c.wait_exit(), SIGSEGV));
    }
    SUBCASE("by number, after --exit-after") {
        Child c({"--die-signal", "9", "--exit-after", "20"});
        CHECK(killed_by(c.wait_exit(), SIGKILL));
    }
    SUBCASE("TERM kills even with --ignore-sigterm") {
        Child c({"--die-signal", "SIGTERM", "--ignore-sigterm"});
        CHECK(killed_by(c.wait_exit(), SIGTERM));
    }
}

TEST_CASE("test-service: --listen writes the port file, accepts TCP, exits 0 on SIGTERM") {
    TempDir d;
    Child c({"--listen", "0", "--port-file", d / "port"});
    const int port = std::stoi(wait_for_file(d / "port", &c));
    REQUIRE(port > 0);
    CHECK(c.read_stdout("\n") == "listening on 127.0.0.1:" + std::to_string(port) + "\n");
    const int fd = connect_tcp(port);
    CHECK(fd >= 0);
    if (fd >= 0) ::close(fd);
    REQUIRE(mainstay::testing::signal_process(c.pid(), SIGTERM));
    CHECK(exited_with(c.wait_exit(), 0));
    CHECK(c.read_stdout().find("got SIGTERM\n") != std::string::npos);
}

TEST_CASE("test-service: --ready-after delays listening") {
    TempDir d;
    const auto t0 = Clock::now();
    Child c({"--listen", "0", "--port-file", d / "port", "--ready-after", "150"});
    wait_for_file(d / "port", &c);
    CHECK(Clock::now() - t0 >= 150ms);
}

TEST_CASE("test-service: --http answers 200 while healthy, 503 when the healthy file is missing") {
    TempDir d;
    const std::string healthy = d / "healthy";
    std::ofstream(healthy) << "x";
    Child c(
        {"--listen", "0", "--port-file", d / "port", "--http", "--healthy-file", healthy, "--unix-socket", d / "sock"});
    const int port = std::stoi(wait_for_file(d / "port", &c));

    const std::string ok = http_get(connect_tcp(port));
    CHECK(ok.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(ok.find("Content-Length: 3\r\n") != std::string::npos);
    CHECK(body_of(ok) == "OK\n");

    const std::string via_unix = http_get(connect_unix(d / "sock"));
    CHECK(via_unix.starts_with("HTTP/1.1 200 OK\r\n"));

    fs::remove(healthy);
    const std::string bad = http_get(connect_tcp(port));
    CHECK(bad.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
    CHECK(body_of(bad) == "unhealthy\n");
}

TEST_CASE("test-service: --route answers its paths with their bodies, others with 404") {
    TempDir d;
    const std::string healthy = d / "healthy";
    std::ofstream(healthy) << "x";
    Child c({"--unix-socket", d / "sock", "--http", "--healthy-file", healthy, "--route",
             "/api/version={\"version\":\"0.1\"}", "--route", "/api/tags={\"models\":[]}", "--route", "/plain=hello"});
    c.read_stdout("listening on unix:");

    const std::string version = http_get(connect_unix(d / "sock"), kDeadline, "/api/version");
    CHECK(version.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(version.find("Content-Type: application/json\r\n") != std::string::npos);
    CHECK(body_of(version) == "{\"version\":\"0.1\"}");
    CHECK(body_of(http_get(connect_unix(d / "sock"), kDeadline, "/api/tags?verbose=1")) == "{\"models\":[]}");

    const std::string plain = http_get(connect_unix(d / "sock"), kDeadline, "/plain");
    CHECK(plain.find("Content-Type: text/plain\r\n") != std::string::npos);
    CHECK(body_of(plain) == "hello");

    const std::string missing = http_get(connect_unix(d / "sock"), kDeadline, "/health");
    CHECK(missing.starts_with("HTTP/1.1 404 Not Found\r\n"));
    CHECK(body_of(missing) == "not found\n");

    fs::remove(healthy);  // unhealthy wins over every route
    CHECK(http_get(connect_unix(d / "sock"), kDeadline, "/api/version").starts_with("HTTP/1.1 503 "));
}

TEST_CASE("test-service: --route needs PATH=BODY and --http") {
    SUBCASE("no equals sign") {
        Child c({"--unix-socket", "/nonexistent/sock", "--http", "--route", "/api"});
        CHECK(exited_with(c.wait_exit(), 64));
        CHECK(c.read_stderr().find("--route: expected PATH=BODY") != std::string::npos);
    }
    SUBCASE("without --http") {
        Child c({"--listen", "0", "--route", "/a=b"});
        CHECK(exited_with(c.wait_exit(), 64));
        CHECK(c.read_stderr().find("--route needs --http") != std::string::npos);
    }
}

TEST_CASE("test-service: without --http, --healthy-file gates the listener on the same port") {
    TempDir d;
    const std::string healthy = d / "healthy";
    Child c({"--listen", "0", "--port-file", d / "port", "--healthy-file", healthy});
    const int port = std::stoi(wait_for_file(d / "port", &c));
    CHECK(wait_port_state(port, false));
    std::ofstream(healthy) << "x";
    CHECK(wait_port_state(port, true));
    fs::remove(healthy);
    CHECK(wait_port_state(port, false));
}

TEST_CASE("test-service: --hang accepts but never answers") {
    TempDir d;
    Child c({"--listen", "0", "--port-file", d / "port", "--http", "--hang"});
    const int port = std::stoi(wait_for_file(d / "port", &c));
    const int fd = connect_tcp(port);
    REQUIRE(fd >= 0);
    CHECK(http_get(fd, 300ms).empty());  // neither data nor EOF within 300 ms
}

TEST_CASE("test-service: --ignore-sigterm survives SIGTERM, SIGKILL still works") {
    TempDir d;
    Child c({"--ignore-sigterm", "--pid-file", d / "pid"});
    CHECK(std::stoi(wait_for_file(d / "pid", &c)) == c.pid());
    const unsigned long long ign = std::stoull(proc_field(c.pid(), "SigIgn"), nullptr, 16);
    CHECK((ign >> (SIGTERM - 1) & 1) == 1);
    CHECK((ign >> (SIGINT - 1) & 1) == 1);
    REQUIRE(mainstay::testing::signal_process(c.pid(), SIGTERM));
    CHECK_FALSE(c.wait_exit(200ms));
    REQUIRE(mainstay::testing::signal_process(c.pid(), SIGKILL));
    CHECK(killed_by(c.wait_exit(), SIGKILL));
}

TEST_CASE("test-service: grandchildren") {
    TempDir d;
    // Orphans get reparented to us, so they can be checked and reaped.
    REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);

    SUBCASE("--fork-grandchild stays in the parent's process group") {
        Child c({"--fork-grandchild", "--grandchild-pid-file", d / "gpid"});
        Grandchild g{std::stoi(wait_for_file(d / "gpid", &c))};
        CHECK(g.pid != c.pid());
        CHECK(::getpgid(g.pid) == c.pid());
        CHECK(::getsid(g.pid) == ::getsid(c.pid()));
        CHECK(std::stoi(proc_field(g.pid, "PPid")) == c.pid());
        mainstay::testing::signal_group(c.pid(), SIGKILL);  // the group kill reaches the grandchild
        CHECK(killed_by(c.wait_exit(), SIGKILL));
        const auto st = wait_pid(g.pid);  // reparented to us (subreaper)
        g.reaped = st.has_value();
        CHECK(killed_by(st, SIGKILL));
    }
    SUBCASE("--orphan-grandchild in a new session outlives its parent") {
        Child c({"--orphan-grandchild", "--grandchild-new-session", "--grandchild-pid-file", d / "gpid"});
        CHECK(exited_with(c.wait_exit(), 0));
        Grandchild g{std::stoi(wait_for_file(d / "gpid"))};  // written before the parent exits
        REQUIRE(g.pid > 1);                                  // kill(pid, 0) below proves nothing for 0 or -1
        CHECK(::getsid(g.pid) == g.pid);
        CHECK(std::stoi(proc_field(g.pid, "PPid")) == ::getpid());
        CHECK(::kill(g.pid, 0) == 0);
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST_CASE("test-service: --print-lines prints exactly N lines of the requested length") {
    SUBCASE("stdout") {
        Child c({"--print-lines", "5000", "--line-length", "64"});
        const std::string out = c.read_stdout();
        CHECK(exited_with(c.wait_exit(), 0));
        CHECK(out.size() == 5000u * 64u);
        const auto lines = split_lines(out);
        REQUIRE(lines.size() == 5000u);
        bool all_ok = true;
        for (std::size_t i = 0; i < lines.size(); ++i)
            all_ok = all_ok && lines[i].size() == 63u && lines[i].starts_with("line " + std::to_string(i) + " ");
        CHECK(all_ok);
    }
    SUBCASE("--stderr, at a rate") {
        const auto t0 = Clock::now();
        Child c({"--print-lines", "20", "--lines-per-second", "200", "--stderr"});
        const std::string err = c.read_stderr();
        CHECK(exited_with(c.wait_exit(), 0));
        CHECK(Clock::now() - t0 >= 90ms);  // 20 lines at 200/s: the last one at 100 ms
        CHECK(split_lines(err).size() == 20u);
        CHECK(err.size() == 20u * 100u);
        CHECK(c.read_stdout().empty());
    }
}

TEST_CASE("test-service: --env-dump shows cwd, environment and no leaked fds") {
    TempDir d;
    Child c({"--env-dump", d / "env", "--exit-code", "0"}, {"MAINSTAY_TS_VAR=hello world"}, d.path.string());
    CHECK(exited_with(c.wait_exit(), 0));
    const auto lines = split_lines(wait_for_file(d / "env"));
    REQUIRE(lines.size() >= 2u);
    CHECK(lines[0] == "CWD=" + fs::canonical(d.path).string());
    CHECK(lines[1] == "FDS=0,1,2");
    CHECK(std::find(lines.begin(), lines.end(), "MAINSTAY_TS_VAR=hello world") != lines.end());
}

TEST_CASE("test-service: --sigmask-dump") {
    TempDir d;
    Child c({"--sigmask-dump", d / "mask", "--exit-code", "0"});
    CHECK(exited_with(c.wait_exit(), 0));
    const auto lines = split_lines(wait_for_file(d / "mask"));
    REQUIRE(lines.size() == 3u);
    // The test spawns it with an empty mask and default dispositions. Only the
    // classic signals are checked: libc-internal real-time ones (32, 33) may be
    // ignored by whatever started this test, and posix_spawn cannot reset them.
    REQUIRE(lines[0].starts_with("SigBlk:\t"));
    REQUIRE(lines[1].starts_with("SigIgn:\t"));
    const unsigned long long classic = (1ULL << 31) - 1;  // signals 1..31
    CHECK((std::stoull(lines[0].substr(8), nullptr, 16) & classic) == 0);
    CHECK((std::stoull(lines[1].substr(8), nullptr, 16) & classic) == 0);
    const std::string p = std::to_string(c.pid());
    CHECK(lines[2].starts_with("PGID=" + p + " SID="));
    CHECK(lines[2].ends_with(" PID=" + p));
}

TEST_CASE("test-service: --start-file appends one line per start") {
    TempDir d;
    const std::string f = d / "starts";
    Child a({"--start-file", f, "--exit-code", "0"});
    CHECK(exited_with(a.wait_exit(), 0));
    Child b({"--start-file", f, "--exit-code", "0"});
    CHECK(exited_with(b.wait_exit(), 0));
    const auto lines = split_lines(slurp(f));
    REQUIRE(lines.size() == 2u);
    long long pa = 0, pb = 0, ta = 0, tb = 0;
    std::istringstream(lines[0]) >> pa >> ta;
    std::istringstream(lines[1]) >> pb >> tb;
    CHECK(pa == a.pid());
    CHECK(pb == b.pid());
    CHECK(ta > 0);
    CHECK(tb > ta);
}
