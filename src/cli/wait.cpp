#include "cli/wait.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/control_client.hpp"
#include "config/values.hpp"
#include "runtime/probe_http.hpp"
#include "runtime/probe_tcp.hpp"

namespace mainstay::cli {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPause{250};
constexpr milliseconds kTryLimit{2000};

struct Target {
    std::string text;
    enum class Kind { tcp, http, unix_socket, service } kind{Kind::tcp};
    config::TcpProbe tcp{};
    config::HttpProbe http{};
    std::string rest;  // the unix path, or the service name
    bool answered{false};
    std::string last;  // why it did not answer, last time
};

std::optional<Target> read_target(const std::string& text, std::string& why) {
    Target t;
    t.text = text;
    auto after = [&](std::string_view prefix) { return std::string_view(text).substr(prefix.size()); };
    if (text.rfind("tcp://", 0) == 0) {
        auto hp = config::parse_host_port(after("tcp://"));
        if (!hp) {
            why = hp.error;
            return std::nullopt;
        }
        t.kind = Target::Kind::tcp;
        t.tcp.address = *hp.value;
        return t;
    }
    if (text.rfind("http://", 0) == 0) {
        auto url = config::parse_http_url(text);
        if (!url) {
            why = url.error;
            return std::nullopt;
        }
        t.kind = Target::Kind::http;
        t.http.url = text;
        t.http.target = *url.value;
        return t;
    }
    if (text.rfind("unix:", 0) == 0 && text.size() > 5) {
        t.kind = Target::Kind::unix_socket;
        t.rest = std::string(after("unix:"));
        sockaddr_un a{};
        if (t.rest.size() >= sizeof a.sun_path) {
            why = "the socket path is too long";
            return std::nullopt;
        }
        return t;
    }
    if (text.rfind("service:", 0) == 0 && text.size() > 8) {
        t.kind = Target::Kind::service;
        t.rest = std::string(after("service:"));
        return t;
    }
    why = "not one of tcp://HOST:PORT, http://HOST[:PORT][/PATH], unix:PATH, service:NAME";
    return std::nullopt;
}

// One probe attempt of the runtime's (the same as a service's probe), run here to its end.
template <class Start>
bool probe_once(Start start, milliseconds limit, std::string& why) {
    boost::asio::io_context io(1);
    std::optional<runtime::ProbeResult> result;
    auto attempt = start(io, limit, [&](const runtime::ProbeResult& r) { result = r; });
    io.run_for(limit + milliseconds(500));
    if (!result) {
        why = "no answer within " + config::format_duration(limit);
        return false;
    }
    why = result->detail;
    return result->ok;
}

bool unix_connect(const std::string& path, std::string& why) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        why = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (!ok) why = "connect: " + config::errno_text(errno);
    ::close(fd);
    return ok;
}

bool service_ready(const config::ClientTarget& instance, const std::string& name, milliseconds limit,
                   std::string& why) {
    std::string error;
    auto client = ControlClient::connect(instance.socket, error, nullptr, limit);
    if (!client) {
        why = error;
        return false;
    }
    if (!client->send({{"cmd", "status"}}, limit)) {
        why = client->error();
        return false;
    }
    auto answer = client->receive(limit, error);
    if (!answer) {
        why = error;
        return false;
    }
    if (!answer->value("ok", false)) {
        why = answer->value("error", std::string("refused"));
        return false;
    }
    const auto status = answer->find("status");
    if (status == answer->end() || !status->contains("services")) {
        why = "no status document";
        return false;
    }
    for (const auto& s : (*status)["services"]) {
        if (s.value("name", std::string()) != name) continue;
        const std::string state = s.value("state", std::string());
        if (s.value("ready", false) || state == "completed") return true;
        const std::string reason = s.value("reason", std::string());
        why = state + (reason.empty() ? "" : ": " + reason);
        return false;
    }
    why = "no service named " + name + " in the running instance";
    return false;
}

bool try_once(Target& t, const WaitOptions& o, milliseconds limit) {
    switch (t.kind) {
        case Target::Kind::tcp:
            return probe_once(
                [&](auto& io, milliseconds l, auto done) { return runtime::start_tcp_probe(io, t.tcp, l, done); },
                limit, t.last);
        case Target::Kind::http:
            return probe_once(
                [&](auto& io, milliseconds l, auto done) { return runtime::start_http_probe(io, t.http, l, done); },
                limit, t.last);
        case Target::Kind::unix_socket:
            return unix_connect(t.rest, t.last);
        case Target::Kind::service:
            return service_ready(*o.instance, t.rest, limit, t.last);
    }
    return false;
}

}  // namespace

std::optional<std::string> wait_target_error(const std::string& target) {
    std::string why;
    if (read_target(target, why)) return std::nullopt;
    return why;
}

bool wants_instance(const std::vector<std::string>& targets) {
    for (const auto& t : targets) {
        if (t.rfind("service:", 0) == 0) return true;
    }
    return false;
}

int wait_command(const WaitOptions& o, std::ostream& out, std::ostream& err) {
    std::vector<Target> targets;
    for (const auto& text : o.targets) {
        std::string why;
        auto t = read_target(text, why);
        if (!t) {
            err << "mainstay wait: " << text << ": " << why << '\n';
            return 64;
        }
        targets.push_back(std::move(*t));
    }
    const auto begin = Clock::now();
    const auto deadline = begin + o.timeout;
    for (;;) {
        bool all = true;
        for (auto& t : targets) {
            if (t.answered) continue;
            const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
            const milliseconds limit = std::clamp(left, milliseconds(1), kTryLimit);
            if (try_once(t, o, limit)) {
                t.answered = true;
                const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - begin);
                out << t.text << ": answers after " << config::format_duration(took) << '\n';
                out.flush();
            } else {
                all = false;
            }
        }
        if (all) return 0;
        if (Clock::now() + kPause >= deadline) break;
        std::this_thread::sleep_for(kPause);  // the command line's own pace: nothing else waits on it
    }
    err << "mainstay wait: after " << config::format_duration(o.timeout) << ", not answering:";
    for (const auto& t : targets) {
        if (!t.answered) err << "\n  " << t.text << ": " << (t.last.empty() ? "no answer" : t.last);
    }
    err << '\n';
    return 1;
}

}  // namespace mainstay::cli
