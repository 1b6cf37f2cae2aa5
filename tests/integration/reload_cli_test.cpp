// `mainstay reload` (the command line in-process) against a fake instance: a unix socket in a
// temporary directory and a thread that accepts one connection, reads one request line and
// writes a canned answer. What is checked is the command line's side: the request it sends, and
// how it prints each kind of answer and which exit code it gives.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli.hpp"
#include "unit/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using mainstay::testing::TempTree;
using namespace std::chrono_literals;

constexpr int kDeadlineMs = 20'000;

// Listens on `socket`. With an answer, a thread accepts one connection, reads one line and
// writes the answer as one line; without, nothing is ever accepted.
class FakeInstance {
public:
    FakeInstance(const fs::path& socket, std::optional<std::string> answer)
        : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        REQUIRE(fd_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const std::string path = socket.string();
        REQUIRE(path.size() < sizeof address.sun_path);
        path.copy(address.sun_path, sizeof address.sun_path - 1);
        REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(fd_, 4) == 0);
        if (answer) thread_ = std::thread([this, line = *answer + "\n"] { serve(line); });
    }
    ~FakeInstance() {
        if (thread_.joinable()) thread_.join();
        ::close(fd_);
    }
    FakeInstance(const FakeInstance&) = delete;
    FakeInstance& operator=(const FakeInstance&) = delete;

    // The line the client sent, once the thread has answered ("" when none came).
    std::string request() {
        if (thread_.joinable()) thread_.join();
        return request_;
    }
    // Whether a client connected that was never accepted.
    bool connection_pending() const {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, 0) == 1;
    }

private:
    void serve(const std::string& answer) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, kDeadlineMs) != 1) return;
        const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) return;
        std::string received;
        char buffer[4096];
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kDeadlineMs);
        while (received.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
            pollfd c{client, POLLIN, 0};
            if (::poll(&c, 1, 100) < 0) break;
            if (!(c.revents & (POLLIN | POLLHUP))) continue;
            const ssize_t n = ::read(client, buffer, sizeof buffer);
            if (n <= 0) break;
            received.append(buffer, static_cast<std::size_t>(n));
        }
        request_ = received.substr(0, received.find('\n'));
        ::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
        ::close(client);
    }

    int fd_;
    std::thread thread_;
    std::string request_;
};

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

Outcome run(std::vector<std::string> args) {
    args.insert(args.begin(), "mainstay");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    const int code = mainstay::cli::run(static_cast<int>(argv.size()), argv.data(), out, err, {});
    return {code, out.str(), err.str()};
}

// A main file whose control socket is <tree>/run/control.sock.
struct Instance {
    TempTree tree;
    fs::path main = tree.write("mainstay.yaml", "status: {socket: run/control.sock, file: run/status.json}\n");
    fs::path socket = tree.root() / "run/control.sock";
    Instance() { fs::create_directories(tree.root() / "run"); }
};

}  // namespace

TEST_CASE("reload sends {cmd: reload} and prints the summary of an answer that is ok, exit 0") {
    Instance i;
    const nlohmann::json answer{{"ok", true},
                                {"diff", {{"services", {{"added", nlohmann::json::array()}, {"changed", {"web"}}}}}},
                                {"summary", "reload: 1 changed (web), 2 unchanged; log.level applied"}};
    FakeInstance fake(i.socket, answer.dump());
    auto o = run({"reload", "-c", i.main.string()});
    CHECK(o.code == 0);
    CHECK(o.out == "reload: 1 changed (web), 2 unchanged; log.level applied\n");
    CHECK(o.err == "");
    CHECK(nlohmann::json::parse(fake.request()) == nlohmann::json{{"cmd", "reload"}});
}

TEST_CASE("reload prints the warnings that come with an answer that is ok") {
    Instance i;
    const nlohmann::json answer{{"ok", true},
                                {"summary", "reload: 1 added (web)"},
                                {"diagnostics", {"/etc/x/web.yaml:2:10: warning: executable not found: web"}}};
    FakeInstance fake(i.socket, answer.dump());
    auto o = run({"reload", "-c", i.main.string()});
    CHECK(o.code == 0);
    CHECK(o.out == "reload: 1 added (web)\n");
    CHECK(o.err == "/etc/x/web.yaml:2:10: warning: executable not found: web\n");
}

TEST_CASE("reload of an invalid configuration prints every diagnostic then the error, exit 2") {
    Instance i;
    const nlohmann::json answer{
        {"ok", false},
        {"error", "invalid configuration: nothing changed"},
        {"diagnostics",
         {"/etc/x/services.d/web.yaml:3:1: error: unknown key 'comand' (did you mean 'command'?)",
          "/etc/x/services.d/db.yaml:1:1: error: a process service needs a 'command'"}}};
    FakeInstance fake(i.socket, answer.dump());
    auto o = run({"-c", i.main.string(), "reload"});
    CHECK(o.code == 2);
    CHECK(o.out == "");
    CHECK(o.err ==
          "/etc/x/services.d/web.yaml:3:1: error: unknown key 'comand' (did you mean 'command'?)\n"
          "/etc/x/services.d/db.yaml:1:1: error: a process service needs a 'command'\n"
          "mainstay: invalid configuration: nothing changed\n");
    CHECK(nlohmann::json::parse(fake.request()) == nlohmann::json{{"cmd", "reload"}});
}

TEST_CASE("reload refused for another reason prints the error, exit 1") {
    Instance i;
    FakeInstance fake(i.socket, R"({"ok":false,"error":"mainstay is shutting down"})");
    auto o = run({"reload", "-c", i.main.string()});
    CHECK(o.code == 1);
    CHECK(o.out == "");
    CHECK(o.err == "mainstay: mainstay is shutting down\n");
}

TEST_CASE("reload with no instance running exits 3") {
    Instance i;
    auto o = run({"reload", "-c", i.main.string()});
    CHECK(o.code == 3);
    CHECK(o.out == "");
    CHECK(o.err.find("no instance is running (" + i.socket.string()) != std::string::npos);
}

TEST_CASE("reload with an invalid main file asks nothing and exits 2 with the file's errors") {
    Instance i;
    FakeInstance fake(i.socket, std::nullopt);
    i.tree.write("mainstay.yaml", "status: {socket: run/control.sock}\nlog: {levle: debug}\n");
    auto o = run({"reload", "-c", i.main.string()});
    CHECK(o.code == 2);
    CHECK(o.out == "");
    CHECK(o.err == i.main.string() +
                       ":2:7: error: unknown key 'levle' (did you mean 'level'?)\n"
                       "mainstay: invalid configuration: the running instance was not asked to reload\n");
    CHECK_FALSE(fake.connection_pending());
}
