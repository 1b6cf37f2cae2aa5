// What the probe tests share: a tiny HTTP server on 127.0.0.1, running probes to their
// result on an io_context, helper processes.
#pragma once
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
#include "support/temp_dir.hpp"

extern char** environ;

namespace probe_support {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;
using mainstay::runtime::ProbeAttempt;
using mainstay::runtime::ProbeDone;
using mainstay::runtime::ProbeResult;
using mainstay::testing::TempDir;
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
inline bool run_until(asio::io_context& io, const std::function<bool()>& ready,
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
inline std::chrono::milliseconds run_dry(asio::io_context& io, std::chrono::milliseconds deadline = kDeadline) {
    const auto start = Clock::now();
    io.restart();
    io.run_for(deadline);
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

inline std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

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
inline int wait_port(const fs::path& file) {
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
        const auto port_file = dir.path / (name + ".port");
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

inline std::string response(const std::string& status_line, const std::string& body) {
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
inline int closed_port() {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

inline mainstay::config::TcpProbe tcp_spec(const std::string& host, int port) {
    return {{host, port}};
}

inline mainstay::config::HttpProbe http_spec(int port, const std::string& target = "/") {
    mainstay::config::HttpProbe spec;
    spec.url = "http://127.0.0.1:" + std::to_string(port) + target;
    spec.target = {"127.0.0.1", port, target};
    return spec;
}

}  // namespace probe_support
