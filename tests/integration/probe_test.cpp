// The tcp and http probes against real sockets on 127.0.0.1: the test-service program and small
// servers written here on the same io_context. The loop runs in the test thread until the
// probe reports, with generous deadlines; nothing sleeps as a check.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "runtime/lookup.hpp"
#include "runtime/probe_http.hpp"
#include "runtime/probe_tcp.hpp"
#include "support/machine.hpp"
#include "support/signal_guard.hpp"

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;
using mainstay::runtime::ProbeAttempt;
using mainstay::runtime::ProbeDone;
using mainstay::runtime::ProbeResult;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kDeadline = 10s;
constexpr std::chrono::milliseconds kTimeout = 5s;  // for probes that are not meant to time out

// Counts the reports of one probe attempt and keeps the last.
struct Outcome {
    int calls{0};
    ProbeResult result;
    ProbeDone sink() {
        return [this](const ProbeResult& r) {
            ++calls;
            result = r;
        };
    }
    bool reported() const { return calls > 0; }
};

// Runs the loop until `ready` holds; false at the deadline or when no work is left that could change it.
bool run_until(asio::io_context& io, const std::function<bool()>& ready,
               std::chrono::milliseconds deadline = kDeadline) {
    const auto end = Clock::now() + deadline;
    while (!ready()) {
        const auto now = Clock::now();
        if (now >= end) return false;
        if (io.stopped()) io.restart();
        if (io.run_one_for(end - now) == 0 && io.stopped()) return ready();
    }
    return true;
}

// Runs the loop until it has no work left; how long that took (the deadline if it never ran dry).
std::chrono::milliseconds run_dry(asio::io_context& io, std::chrono::milliseconds deadline = kDeadline) {
    const auto start = Clock::now();
    io.restart();
    io.run_for(deadline);
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "probe-test-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// test-service with the given flags, stdout and stderr to /dev/null; killed at the end.
class TestService {
public:
    explicit TestService(const std::vector<std::string>& flags) {
        std::vector<std::string> args{TEST_SERVICE_PATH};
        args.insert(args.end(), flags.begin(), flags.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        REQUIRE(rc == 0);
    }
    ~TestService() {
        mainstay::testing::signal_process(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    TestService(const TestService&) = delete;
    TestService& operator=(const TestService&) = delete;

private:
    pid_t pid_{-1};
};

// Waits for test-service's --port-file (written once every listener is open).
int wait_port(const fs::path& file) {
    const auto end = Clock::now() + kDeadline;
    while (Clock::now() < end) {
        std::ifstream in(file);
        int port = 0;
        if (in >> port && port > 0) return port;
        std::this_thread::sleep_for(5ms);
    }
    FAIL("no port file " << file);
    return 0;
}

// test-service listening on 127.0.0.1 (and `unix_socket` if given) with `flags`; its port.
struct ServiceOnPort {
    ServiceOnPort(const TempDir& dir, std::vector<std::string> flags, const std::string& name = "svc") {
        const auto port_file = dir.path() / (name + ".port");
        flags.insert(flags.end(), {"--listen", "0", "--port-file", port_file.string()});
        service = std::make_unique<TestService>(flags);
        port = wait_port(port_file);
    }
    std::unique_ptr<TestService> service;
    int port{0};
};

// A server on the test's io_context: reads each request head, keeps it, and answers with
// `response` and a close, or (with answer = false) holds the connection open and silent.
class CannedServer {
public:
    CannedServer(asio::io_context& io, std::string response, bool answer = true)
        : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          response_(std::move(response)),
          answer_(answer) {
        accept();
    }
    int port() const { return acceptor_.local_endpoint().port(); }
    void stop() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
    }

    std::vector<std::string> requests;  // the heads received, in order
    int accepted{0};

private:
    struct Conn {
        explicit Conn(asio::io_context& io) : socket(io) {}
        tcp::socket socket;
        std::string in;
    };

    void accept() {
        auto conn = std::make_shared<Conn>(static_cast<asio::io_context&>(acceptor_.get_executor().context()));
        acceptor_.async_accept(conn->socket, [this, conn](const boost::system::error_code& ec) {
            if (ec) return;
            ++accepted;
            if (answer_) {
                serve(conn);
            } else {
                held_.push_back(conn);
            }
            accept();
        });
    }

    void serve(const std::shared_ptr<Conn>& conn) {
        asio::async_read_until(conn->socket, asio::dynamic_buffer(conn->in), "\r\n\r\n",
                               [this, conn](const boost::system::error_code& ec, std::size_t n) {
                                   if (ec) return;
                                   requests.push_back(conn->in.substr(0, n));
                                   asio::async_write(conn->socket, asio::buffer(response_),
                                                     [conn](const boost::system::error_code&, std::size_t) {
                                                         boost::system::error_code ignored;
                                                         conn->socket.shutdown(tcp::socket::shutdown_both, ignored);
                                                         conn->socket.close(ignored);
                                                     });
                               });
    }

    tcp::acceptor acceptor_;
    std::string response_;
    bool answer_;
    std::vector<std::shared_ptr<Conn>> held_;
};

std::string response(const std::string& status_line, const std::string& body) {
    return "HTTP/1.1 " + status_line +
           "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
}

// A TCP listener that completes no more handshakes: backlog 0, filled by connections nobody
// accepts, so the kernel drops further SYNs and a connect stays pending.
class FullBacklog {
public:
    FullBacklog() {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
        REQUIRE(::listen(listener_, 0) == 0);
        socklen_t len = sizeof sin;
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&sin), &len) == 0);
        port_ = ntohs(sin.sin_port);
        for (int i = 0; i < 4; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            REQUIRE(fd >= 0);
            ::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);  // EINPROGRESS for the dropped ones
            fillers_.push_back(fd);
        }
    }
    ~FullBacklog() {
        for (int fd : fillers_) ::close(fd);
        ::close(listener_);
    }
    int port() const { return port_; }

private:
    int listener_{-1};
    int port_{0};
    std::vector<int> fillers_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
int closed_port() {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

mainstay::config::TcpProbe tcp_spec(const std::string& host, int port) {
    return {{host, port}};
}

mainstay::config::HttpProbe http_spec(int port, const std::string& target = "/") {
    mainstay::config::HttpProbe spec;
    spec.url = "http://127.0.0.1:" + std::to_string(port) + target;
    spec.target = {"127.0.0.1", port, target};
    return spec;
}

}  // namespace

TEST_CASE("tcp probe: a listening port passes") {
    asio::io_context io;
    // Never accepts: the kernel completes the handshake for a listening socket.
    tcp::acceptor listener(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const int port = listener.local_endpoint().port();
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("127.0.0.1", port), kTimeout, out.sink());
    CHECK(out.calls == 0);  // never reported from inside start
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK(out.result.ok);
    CHECK_FALSE(out.result.timed_out);
    CHECK(out.result.detail == "connected to 127.0.0.1:" + std::to_string(port));
    CHECK(out.result.duration < 5s);
    CHECK(run_dry(io, 2s) < 1s);  // the deadline timer was cancelled on success
    CHECK(out.calls == 1);
}

TEST_CASE("tcp probe: a host name is resolved first") {
    std::string why;
    if (!mainstay::testing::resolves("localhost", why)) {
        MESSAGE("skipped: " << why);
        return;
    }
    asio::io_context io;
    tcp::acceptor listener(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("localhost", listener.local_endpoint().port()),
                                                    kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    INFO(out.result.detail);
    CHECK(out.result.ok);
}

TEST_CASE("tcp probe: an IPv6 literal is connected to without the resolver") {
    asio::io_context io;
    boost::system::error_code ec;
    tcp::acceptor listener(io);
    listener.open(tcp::v6(), ec);
    if (!ec) listener.bind(tcp::endpoint(asio::ip::make_address("::1"), 0), ec);
    if (!ec) listener.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        MESSAGE("no IPv6 loopback here (" << ec.message() << "): nothing to check");
        return;
    }
    const int port = listener.local_endpoint().port();
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("::1", port), kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK(out.result.ok);
    CHECK(out.result.detail == "connected to [::1]:" + std::to_string(port));
}

TEST_CASE("tcp probe: a closed port fails with connection refused") {
    asio::io_context io;
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("127.0.0.1", closed_port()), kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK_FALSE(out.result.ok);
    CHECK_FALSE(out.result.timed_out);
    CHECK(out.result.detail == "connect: connection refused");
    CHECK(out.calls == 1);
}

TEST_CASE("tcp probe: a peer that never completes the handshake times out at the timeout") {
    FullBacklog peer;
    asio::io_context io;
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("127.0.0.1", peer.port()), 200ms, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    INFO(out.result.detail);
    CHECK_FALSE(out.result.ok);
    CHECK(out.result.timed_out);
    CHECK(out.result.detail == "timed out after 200ms");
    CHECK(out.result.duration >= 200ms);
    CHECK(out.result.duration < 5s);
    CHECK(run_dry(io, 2s) < 1s);  // the pending connect was aborted
    CHECK(out.calls == 1);
}

TEST_CASE("cancel reports once, with \"cancelled\", and leaves nothing armed") {
    FullBacklog peer;
    asio::io_context io;
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("127.0.0.1", peer.port()), kTimeout, out.sink());
    probe->cancel();
    CHECK(out.calls == 0);  // posted, not called from inside cancel()
    probe->cancel();        // a second cancel changes nothing
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK(out.result.detail == "cancelled");
    CHECK_FALSE(out.result.ok);
    CHECK_FALSE(out.result.timed_out);
    CHECK(out.result.duration < 1s);
    CHECK(run_dry(io) < 1s);  // no deadline left behind: the loop runs dry at once
    CHECK(out.calls == 1);
}

TEST_CASE("cancel during an http exchange reports once, with \"cancelled\"") {
    asio::io_context io;
    CannedServer silent(io, "", false);
    Outcome out;
    auto probe = mainstay::runtime::start_http_probe(io, http_spec(silent.port()), kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return silent.accepted == 1; }));
    probe->cancel();
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK(out.result.detail == "cancelled");
    silent.stop();
    CHECK(run_dry(io) < 1s);
    CHECK(out.calls == 1);
}

TEST_CASE("destroying the handle while the probe is pending never reports") {
    asio::io_context io;
    CannedServer silent(io, "", false);
    Outcome out;
    auto probe = mainstay::runtime::start_http_probe(io, http_spec(silent.port()), 300ms, out.sink());
    REQUIRE(run_until(io, [&] { return silent.accepted == 1; }));
    probe.reset();
    silent.stop();
    CHECK(run_dry(io) < 1s);  // the exchange and its deadline were aborted
    CHECK(out.calls == 0);
}

TEST_CASE("destroying the handle after the report was posted still never reports") {
    asio::io_context io;
    Outcome out;
    auto probe = mainstay::runtime::start_tcp_probe(io, tcp_spec("127.0.0.1", closed_port()), kTimeout, out.sink());
    probe->cancel();  // the report is queued now
    probe.reset();
    CHECK(run_dry(io) < 1s);
    CHECK(out.calls == 0);
}

TEST_CASE("http probe: 200 with the expected text in the body passes, without it fails") {
    TempDir dir;
    ServiceOnPort svc(dir, {"--http"});
    asio::io_context io;
    auto spec = http_spec(svc.port, "/health");

    Outcome pass;
    spec.body_contains = "OK";
    auto p1 = mainstay::runtime::start_http_probe(io, spec, kTimeout, pass.sink());
    REQUIRE(run_until(io, [&] { return pass.reported(); }));
    CHECK(pass.result.ok);
    CHECK(pass.result.detail == "HTTP 200");

    Outcome miss;
    spec.body_contains = "llama";
    auto p2 = mainstay::runtime::start_http_probe(io, spec, kTimeout, miss.sink());
    REQUIRE(run_until(io, [&] { return miss.reported(); }));
    CHECK_FALSE(miss.result.ok);
    CHECK_FALSE(miss.result.timed_out);
    CHECK(miss.result.detail == "body does not contain \"llama\"");
}

TEST_CASE("http probe: 503 fails with the status in the detail, 200 after the service heals") {
    TempDir dir;
    const auto healthy = dir.path() / "healthy";
    ServiceOnPort svc(dir, {"--http", "--healthy-file", healthy.string()});
    asio::io_context io;

    Outcome sick;
    auto p1 = mainstay::runtime::start_http_probe(io, http_spec(svc.port), kTimeout, sick.sink());
    REQUIRE(run_until(io, [&] { return sick.reported(); }));
    CHECK_FALSE(sick.result.ok);
    CHECK(sick.result.detail == "HTTP 503 (expected 200-399)");

    std::ofstream(healthy).put('\n');
    Outcome well;
    auto p2 = mainstay::runtime::start_http_probe(io, http_spec(svc.port), kTimeout, well.sink());
    REQUIRE(run_until(io, [&] { return well.reported(); }));
    CHECK(well.result.ok);
    CHECK(well.result.detail == "HTTP 200");
}

TEST_CASE("http probe: the expected status range decides (301 in 200-399, not in 200-299)") {
    asio::io_context io;
    CannedServer moved(io, response("301 Moved Permanently", "elsewhere\n"));
    auto spec = http_spec(moved.port());

    Outcome wide;
    auto p1 = mainstay::runtime::start_http_probe(io, spec, kTimeout, wide.sink());
    REQUIRE(run_until(io, [&] { return wide.reported(); }));
    CHECK(wide.result.ok);
    CHECK(wide.result.detail == "HTTP 301");

    Outcome narrow;
    spec.status = {200, 299};
    auto p2 = mainstay::runtime::start_http_probe(io, spec, kTimeout, narrow.sink());
    REQUIRE(run_until(io, [&] { return narrow.reported(); }));
    CHECK_FALSE(narrow.result.ok);
    CHECK(narrow.result.detail == "HTTP 301 (expected 200-299)");

    Outcome exact;
    spec.status = {204, 204};
    auto p3 = mainstay::runtime::start_http_probe(io, spec, kTimeout, exact.sink());
    REQUIRE(run_until(io, [&] { return exact.reported(); }));
    CHECK(exact.result.detail == "HTTP 301 (expected 204)");
}

TEST_CASE("http probe: HEAD reads no body even with a Content-Length") {
    TempDir dir;
    ServiceOnPort svc(dir, {"--http"});  // HEAD: Content-Length: 3, no body, then close
    asio::io_context io;
    auto spec = http_spec(svc.port);
    spec.method = "HEAD";
    Outcome out;
    auto probe = mainstay::runtime::start_http_probe(io, spec, kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    INFO(out.result.detail);
    CHECK(out.result.ok);
    CHECK(out.result.detail == "HTTP 200");
}

TEST_CASE("http probe: the request carries the method, target, Host, User-Agent, Connection and custom headers") {
    asio::io_context io;
    CannedServer server(io, response("200 OK", "fine\n"));
    auto spec = http_spec(server.port(), "/health?x=1");
    spec.method = "HEAD";
    spec.headers = {{"X-Probe", "yes"}, {"Authorization", "Bearer abc"}};
    Outcome out;
    auto probe = mainstay::runtime::start_http_probe(io, spec, kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    CHECK(out.result.ok);
    REQUIRE(server.requests.size() == 1);
    const std::string head = lower(server.requests[0]);
    INFO(server.requests[0]);
    CHECK(head.starts_with("head /health?x=1 http/1.1\r\n"));
    CHECK(head.find("\r\nhost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") != std::string::npos);
    CHECK(head.find("\r\nuser-agent: mainstay\r\n") != std::string::npos);
    CHECK(head.find("\r\nconnection: close\r\n") != std::string::npos);
    CHECK(head.find("\r\nx-probe: yes\r\n") != std::string::npos);
    CHECK(head.find("\r\nauthorization: bearer abc\r\n") != std::string::npos);
}

TEST_CASE("http probe: over a unix socket, with the Host from the URL") {
    TempDir dir;
    const auto sock = dir.path() / "svc.sock";
    ServiceOnPort svc(dir, {"--http", "--unix-socket", sock.string()});
    asio::io_context io;
    mainstay::config::HttpProbe spec;
    spec.url = "http://localhost/ping";
    spec.target = {"localhost", 80, "/ping"};
    spec.unix_socket = sock;
    spec.body_contains = "OK";
    Outcome out;
    auto probe = mainstay::runtime::start_http_probe(io, spec, kTimeout, out.sink());
    REQUIRE(run_until(io, [&] { return out.reported(); }));
    INFO(out.result.detail);
    CHECK(out.result.ok);
    CHECK(out.result.detail == "HTTP 200");

    Outcome missing;
    spec.unix_socket = dir.path() / "nothing.sock";
    auto p2 = mainstay::runtime::start_http_probe(io, spec, kTimeout, missing.sink());
    REQUIRE(run_until(io, [&] { return missing.reported(); }));
    CHECK(missing.result.detail == "connect: no such file or directory");
}

TEST_CASE("http probe: a request that cannot be made is a failure, reported later, not an exception") {
    asio::io_context io;
    auto spec = http_spec(closed_port());

    Outcome long_path;
    spec.unix_socket = "/tmp/" + std::string(200, 'x');
    auto p1 = mainstay::runtime::start_http_probe(io, spec, kTimeout, long_path.sink());
    CHECK(long_path.calls == 0);
    REQUIRE(run_until(io, [&] { return long_path.reported(); }));
    CHECK_FALSE(long_path.result.ok);
    CHECK(long_path.result.detail.starts_with("connect: unix socket path too long"));

    Outcome huge_header;
    spec.unix_socket.reset();
    spec.headers = {{"X-Big", std::string(70 * 1024, 'b')}};  // Beast would throw on this
    auto p2 = mainstay::runtime::start_http_probe(io, spec, kTimeout, huge_header.sink());
    CHECK(huge_header.calls == 0);
    REQUIRE(run_until(io, [&] { return huge_header.reported(); }));
    CHECK(huge_header.result.detail == "request header too large: X-Big");
}

TEST_CASE("http probe: a peer that never answers times out, and does not delay a parallel probe") {
    TempDir dir;
    ServiceOnPort hang(dir, {"--hang"}, "hang");
    ServiceOnPort fast(dir, {"--http"}, "fast");
    asio::io_context io;
    const auto started = Clock::now();
    Outcome slow_out, fast_out;
    auto slow = mainstay::runtime::start_http_probe(io, http_spec(hang.port), 1500ms, slow_out.sink());
    auto quick = mainstay::runtime::start_http_probe(io, http_spec(fast.port), 1500ms, fast_out.sink());

    REQUIRE(run_until(io, [&] { return fast_out.reported(); }));
    CHECK(fast_out.result.ok);
    CHECK(fast_out.result.duration < 750ms);
    CHECK(Clock::now() - started < 750ms);
    CHECK_FALSE(slow_out.reported());

    REQUIRE(run_until(io, [&] { return slow_out.reported(); }));
    CHECK_FALSE(slow_out.result.ok);
    CHECK(slow_out.result.timed_out);
    CHECK(slow_out.result.detail == "timed out after 1s500ms");
    CHECK(slow_out.result.duration >= 1500ms);
    CHECK(slow_out.result.duration < 5s);
    CHECK(run_dry(io) < 1s);
    CHECK(slow_out.calls == 1);
    CHECK(fast_out.calls == 1);
}

TEST_CASE("http probe: refused, closed without an answer, and a body over 1 MiB are failures") {
    asio::io_context io;

    Outcome refused;
    auto p1 = mainstay::runtime::start_http_probe(io, http_spec(closed_port()), kTimeout, refused.sink());
    REQUIRE(run_until(io, [&] { return refused.reported(); }));
    CHECK(refused.result.detail == "connect: connection refused");

    CannedServer mute(io, "");  // reads the request, answers nothing, closes
    Outcome closed;
    auto p2 = mainstay::runtime::start_http_probe(io, http_spec(mute.port()), kTimeout, closed.sink());
    REQUIRE(run_until(io, [&] { return closed.reported(); }));
    CHECK_FALSE(closed.result.ok);
    CHECK(closed.result.detail == "read: connection closed before a response");

    CannedServer huge(io, response("200 OK", std::string(2 * 1024 * 1024, 'x')));
    Outcome big;
    auto p3 = mainstay::runtime::start_http_probe(io, http_spec(huge.port()), kTimeout, big.sink());
    REQUIRE(run_until(io, [&] { return big.reported(); }));
    CHECK_FALSE(big.result.ok);
    CHECK(big.result.detail.starts_with("response body too large"));

    CannedServer garbage(io, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
    Outcome bad;
    auto p4 = mainstay::runtime::start_http_probe(io, http_spec(garbage.port()), kTimeout, bad.sink());
    REQUIRE(run_until(io, [&] { return bad.reported(); }));
    INFO(bad.result.detail);
    CHECK_FALSE(bad.result.ok);
    CHECK(bad.result.detail.starts_with("read: "));
}

TEST_CASE("a name lookup that never answers does not hold up the end of the event loop") {
    // Asio's resolver thread is joined when its io_context is destroyed: a lookup stuck on an
    // unreachable DNS server delayed mainstay's exit by the resolver's timeout. Here the lookup
    // blocks until the test lets it go, after the io_context is gone.
    auto release = std::make_shared<std::promise<void>>();
    std::shared_future<void> released = release->get_future().share();
    bool answered = false;
    const auto begin = std::chrono::steady_clock::now();
    {
        asio::io_context io;
        mainstay::runtime::lookup(
            io, "stuck.invalid", 80, [&](const mainstay::runtime::Endpoints&, const std::string&) { answered = true; },
            [released](const std::string&, int, std::string& error) {
                released.wait();
                error = "released";
                return mainstay::runtime::Endpoints{};
            });
        io.run_for(std::chrono::milliseconds(50));
    }  // the io_context ends here, with the lookup still running
    CHECK(std::chrono::steady_clock::now() - begin < 2s);
    release->set_value();  // the thread finds the gate closed and drops its answer
    CHECK_FALSE(answered);
}

TEST_CASE("a name lookup answers on the event loop") {
    asio::io_context io;
    std::string error = "not called";
    std::size_t found = 0;
    mainstay::runtime::lookup(
        io, "name", 8080,
        [&](const mainstay::runtime::Endpoints& e, const std::string& err) {
            found = e.size();
            error = err;
        },
        [](const std::string& host, int port, std::string&) {
            CHECK(host == "name");
            return mainstay::runtime::Endpoints{
                {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}};
        });
    REQUIRE(run_until(io, [&] { return error != "not called"; }));
    CHECK(found == 1);
    CHECK(error.empty());
}
