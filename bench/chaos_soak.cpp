// Chaos soak: 50 services under random faults for a few minutes, mainstay itself SIGKILLed and
// started again in the middle, then a look at what is left.
//
//   chaos_soak MAINSTAY TEST_SERVICE [SECONDS=180] [SERVICES=50] [SEED]
//
// Every service is a test-service answering HTTP on a loopback port, with an HTTP readiness
// probe (every second one a liveness probe too). Faults, each at a random time on a random
// service, and only ever sent to a pid that /proc shows is a child of the mainstay this soak
// started (checked with its start time, so a reused pid is never hit):
//   - kill:      SIGKILL;
//   - stop/cont: SIGSTOP, SIGCONT after 0.1-5 s (the probes time out; past the liveness budget
//                mainstay restarts it, which is fine too);
//   - unhealthy: its healthy file removed for 0.2-6 s (the probe gets 503);
//   - exit:      a tenth of the services exit by themselves after a random 2-20 s (a new
//                random delay at every start; exit code 0 under `always`, 3 under `on-failure`).
// Some services print lines without pause while mainstay's stdout is a pipe this soak reads
// at 1 KiB every 100 ms (a slow console); the log directory is a 2 MB tmpfs filled to the last
// byte (as root where mount works; skipped with the reason otherwise). Two services fork a
// grandchild in their group.
//
// Half-way, mainstay is SIGKILLed (faults going on), the pids of its services and of their
// grandchildren are recorded with their start times, and a new mainstay is started on the same
// configuration: none of those processes may remain, and every service must be ready again.
// The faults then go on against the new instance: after a warm-up its descriptors and RSS are
// taken at a quiet moment (faults paused, every service ready), and again once the faults
// stop and every service is ready. Checks: every service ready within a deadline, no zombie
// child, descriptors as at the baseline, RSS below twice the baseline and below +10 MB,
// mainstay's /healthz answered within 2 s throughout, a killed service running again within
// 5 s, the full disk reported, a clean exit on SIGTERM. Exit 0 when all hold, 1 otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/proc_stats.hpp"
#include "support/signal_guard.hpp"

namespace {

using mainstay::testing::descriptors;
using mainstay::testing::rss_kib;
using mainstay::testing::signal_process;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

volatile sig_atomic_t g_interrupted = 0;
void on_signal(int) {
    g_interrupted = 1;
}

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

__attribute__((format(printf, 1, 2))) void say(const char* fmt, ...) {
    static const auto t0 = Clock::now();
    std::printf("[%6.1f s] ", since(t0));
    va_list args;
    va_start(args, fmt);
    std::vprintf(fmt, args);
    va_end(args);
    std::printf("\n");
    std::fflush(stdout);
}

// What /proc/PID/stat says: state, parent, start time (clock ticks since boot). state 0: gone.
struct Stat {
    char state = 0;
    int ppid = 0;
    unsigned long long start = 0;
};

Stat stat_of(int pid) {
    Stat s;
    if (pid <= 0) return s;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(in, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 > line.size()) return s;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    for (int i = 3; rest >> field; ++i) {
        if (i == 3) s.state = field[0];
        if (i == 4) s.ppid = std::atoi(field.c_str());
        if (i == 22) {
            s.start = std::stoull(field);
            break;
        }
    }
    return s;
}

// A process as this soak knows it: a pid and the start time it had when it was seen.
struct Proc {
    int pid = -1;
    unsigned long long start = 0;
    bool same_process_alive() const {
        const Stat s = stat_of(pid);
        return s.state != 0 && s.start == start;
    }
};

int read_pid(const fs::path& file) {
    std::ifstream in(file);
    int pid = -1;
    in >> pid;
    return pid;
}

std::vector<int> children_of(int parent, bool zombies_only) {
    std::vector<int> out;
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const int pid = std::atoi(it->path().filename().c_str());
        if (pid <= 0) continue;
        const Stat s = stat_of(pid);
        if (s.ppid == parent && s.state != 0 && (!zombies_only || s.state == 'Z')) out.push_back(pid);
    }
    return out;
}

// A loopback port outside the usual ephemeral range (32768-60999) that was free a moment ago,
// so that other programs' outgoing connections do not take it while a service is restarting.
int pick_port(std::mt19937& random, std::vector<int>& taken) {
    for (int tries = 0; tries < 10000; ++tries) {
        const int port = 20000 + static_cast<int>(random() % 12000);
        if (std::find(taken.begin(), taken.end(), port) != taken.end()) continue;
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(port));
        const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (ok) {
            taken.push_back(port);
            return port;
        }
    }
    return -1;
}

// GET http://127.0.0.1:PORT/PATH with a deadline; the body, or nullopt.
std::optional<std::string> http_get(int port, const std::string& path, milliseconds limit, int* status = nullptr) {
    const auto end = Clock::now() + limit;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return std::nullopt;
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) return std::nullopt;
    auto wait = [&](short events) {
        const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        return ::poll(&p, 1, static_cast<int>(left)) == 1;
    };
    if (!wait(POLLOUT)) return std::nullopt;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return std::nullopt;
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
        return std::nullopt;
    std::string response;
    char buf[16384];
    for (;;) {
        if (!wait(POLLIN)) return std::nullopt;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) break;
        response.append(buf, static_cast<size_t>(n));
    }
    const auto head_end = response.find("\r\n\r\n");
    if (response.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos) return std::nullopt;
    if (status) *status = std::atoi(response.c_str() + response.find(' ') + 1);
    std::string head = response.substr(0, head_end);
    std::string body = response.substr(head_end + 4);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    if (head.find("transfer-encoding: chunked") != std::string::npos) {
        std::string plain;
        for (size_t at = 0;;) {
            const auto eol = body.find("\r\n", at);
            if (eol == std::string::npos) break;
            const size_t size = std::stoul(body.substr(at, eol - at), nullptr, 16);
            if (size == 0) break;
            plain += body.substr(eol + 2, size);
            at = eol + 2 + size + 2;
        }
        body = plain;
    }
    return body;
}

std::optional<nlohmann::json> status_of(int port) {
    int code = 0;
    auto body = http_get(port, "/status", milliseconds(3000), &code);
    if (!body || code != 200) return std::nullopt;
    auto doc = nlohmann::json::parse(*body, nullptr, false);
    if (doc.is_discarded() || !doc.contains("services")) return std::nullopt;
    return doc;
}

// What each of `pid`'s descriptors points to ("pipe:[123]" and "socket:[456]" cut to their kind).
std::vector<std::string> fd_targets(int pid) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code e2;
        std::string target = fs::read_symlink(it->path(), e2).string();
        if (const auto colon = target.find(":["); colon != std::string::npos) target.erase(colon);
        out.push_back(target);
    }
    std::sort(out.begin(), out.end());
    return out;
}

struct Service {
    std::string name;
    int port = 0;
    bool liveness = false, exits = false, chatty = false, grandchild = false;
    fs::path healthy, pid_file, exit_file, grandchild_pid_file;
};

// The percentile q (0..1) of `v` (sorted here), or 0 when empty.
double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: chaos_soak MAINSTAY TEST_SERVICE [SECONDS=180] [SERVICES=50] [SEED]\n");
        return 64;
    }
    const std::string mainstay = fs::absolute(argv[1]).string(), test_service = fs::absolute(argv[2]).string();
    const int total_seconds = std::max(30, argc > 3 ? std::atoi(argv[3]) : 180);
    const int n = std::max(4, argc > 4 ? std::atoi(argv[4]) : 50);
    const unsigned seed = argc > 5 ? static_cast<unsigned>(std::strtoul(argv[5], nullptr, 10))
                                   : static_cast<unsigned>(std::random_device{}());
    std::mt19937 random(seed);
    auto uniform = [&](int lo, int hi) { return lo + static_cast<int>(random() % static_cast<unsigned>(hi - lo + 1)); };

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    // Processes orphaned when mainstay is SIGKILLed come to this soak, which reaps them: a
    // zombie nobody reaps would otherwise look like a process of the old instance left behind.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    const auto soak_begin = Clock::now();
    // Every wait below has its own deadline; this one bounds the whole run besides.
    const auto hard_deadline = soak_begin + seconds(total_seconds + 420);
    auto out_of_time = [&] { return g_interrupted || Clock::now() > hard_deadline; };

    char tmpl[] = "/tmp/mainstay-chaos-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        std::perror("mkdtemp");
        return 1;
    }
    const fs::path dir = tmpl;
    for (const char* sub : {"services.d", "logs", "run", "health", "pids", "exit"}) fs::create_directories(dir / sub);
    say("chaos soak: %d services, %d s of faults, seed %u, in %s", n, total_seconds, seed, dir.c_str());

    // The full log disk: a 2 MB tmpfs on logs/, where mount is allowed.
    bool disk_mounted = false;
    std::string disk_skip;
    if (::geteuid() != 0) {
        disk_skip = "not root";
    } else if (::mount("tmpfs", (dir / "logs").c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,mode=0755") != 0) {
        disk_skip = std::string("mount -t tmpfs failed: ") + std::strerror(errno);
    } else {
        disk_mounted = true;
    }
    if (!disk_mounted) say("full log disk: SKIPPED (%s)", disk_skip.c_str());

    std::vector<int> ports;
    const int http_port = pick_port(random, ports);
    std::ofstream(dir / "mainstay.yaml") << "services_dir: services.d\n"
                                            "log: {file: logs/mainstay.log, level: info}\n"
                                            "status: {socket: run/control.sock, file: run/status.json, http: 127.0.0.1:"
                                         << http_port << ", print_interval: 0s}\n"
                                         << "startup: {timeout: 120s}\n";
    std::vector<Service> services(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        Service& s = services[static_cast<size_t>(i)];
        char name[16];
        std::snprintf(name, sizeof name, "s%02d", i);
        s.name = name;
        s.port = pick_port(random, ports);
        s.liveness = i % 2 == 0;
        s.exits = i % 10 == 3;
        s.chatty = i % 10 == 7;
        s.grandchild = i == 1 || i == 5;
        s.healthy = dir / "health" / s.name;
        s.pid_file = dir / "pids" / (s.name + ".pid");
        s.exit_file = dir / "exit" / s.name;
        s.grandchild_pid_file = dir / "pids" / (s.name + ".grandchild");
        std::ofstream(s.healthy) << "ok\n";
        std::ostringstream cmd;
        cmd << test_service << " --listen " << s.port << " --http --healthy-file " << s.healthy.string()
            << " --pid-file " << s.pid_file.string();
        if (s.chatty) cmd << " --lines-per-second 200";
        if (s.grandchild) cmd << " --fork-grandchild --grandchild-pid-file " << s.grandchild_pid_file.string();
        std::ofstream yaml(dir / "services.d" / (s.name + ".yaml"));
        const std::string url = "http://127.0.0.1:" + std::to_string(s.port) + "/";
        if (s.exits) {
            // sh execs the test-service, so mainstay's child is the test-service itself. While the
            // exit file holds a number, each start exits after that many ms (code 3 for the
            // on-failure half, so that policy restarts it); an empty file means "stay".
            const int code = i % 20 == 3 ? 0 : 3;
            yaml << "command: 'if [ -s " << s.exit_file.string() << " ]; then exec " << cmd.str() << " --exit-code "
                 << code << " --exit-after \"$(cat " << s.exit_file.string() << ")\"; else exec " << cmd.str()
                 << "; fi'\nshell: true\n";
            yaml << "restart: {policy: " << (code == 0 ? "always" : "on-failure") << ", ";
        } else {
            yaml << "command: " << cmd.str() << "\n";
            yaml << "restart: {";
        }
        yaml << "backoff: {initial: 50ms, max: 2s, jitter: none}, reset_after: 5s,"
                " circuit_breaker: {failure_threshold: 100000000}}\n"
                "stop: {timeout: 1s}\n"
                "output: {console: "
             << (s.chatty ? "true" : "false") << ", file: true}\n"
             << "probes:\n  readiness: {http: '" << url << "', interval: 1s, timeout: 500ms, failure_threshold: 2}\n";
        if (s.liveness)
            yaml << "  liveness: {http: '" << url << "', interval: 1s, timeout: 500ms, failure_threshold: 3}\n";
    }
    auto set_exit_files = [&](bool on) {
        for (auto& s : services) {
            if (!s.exits) continue;
            const fs::path tmp = s.exit_file.string() + ".tmp";
            std::ofstream(tmp) << (on ? std::to_string(uniform(2000, 20000)) + "\n" : "");
            fs::rename(tmp, s.exit_file);
        }
    };
    set_exit_files(true);

    // The slow console: one pipe for both instances' stdout and stderr, read 1 KiB every 100 ms.
    int console[2];
    if (::pipe2(console, O_CLOEXEC) != 0) return 1;
    std::mutex console_mutex;
    std::string console_text;
    std::atomic<bool> console_drain{false};
    std::atomic<long long> console_bytes{0};
    std::thread console_reader([&] {
        char buf[1024];
        std::optional<Clock::time_point> drain_end;
        for (;;) {
            if (console_drain && !drain_end) drain_end = Clock::now() + seconds(10);
            if (drain_end && Clock::now() > *drain_end) break;
            pollfd p{console[0], POLLIN, 0};
            if (::poll(&p, 1, 100) != 1) {
                if (console_drain) break;  // everything read
                continue;
            }
            {
                const ssize_t got = ::read(console[0], buf, sizeof buf);
                if (got > 0) {
                    console_bytes += got;
                    std::lock_guard lock(console_mutex);
                    console_text.append(buf, static_cast<size_t>(got));
                    if (console_text.size() > (8u << 20)) console_text.erase(0, 4u << 20);
                }
            }
            if (!console_drain) std::this_thread::sleep_for(milliseconds(100));
        }
    });

    // Instances of mainstay (each in a process group of its own) and what became of them.
    struct Instance {
        pid_t pid = -1;
        bool reaped = false;
        int status = 0;
    };
    std::vector<Instance> instances;
    auto reap = [&] {
        for (;;) {
            int status = 0;
            const pid_t pid = ::waitpid(-1, &status, WNOHANG);
            if (pid <= 0) return;
            for (auto& in : instances) {
                if (in.pid == pid) {
                    in.reaped = true;
                    in.status = status;
                }
            }
        }
    };
    auto start_instance = [&] {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::setpgid(0, 0);
            ::dup2(console[1], 1);
            ::dup2(console[1], 2);
            const std::string config = (dir / "mainstay.yaml").string();
            ::execl(mainstay.c_str(), mainstay.c_str(), "run", "-c", config.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        if (pid > 0) ::setpgid(pid, pid);
        instances.push_back({pid, false, 0});
        return pid;
    };
    pid_t ms = -1;

    std::vector<std::string> failures;
    auto check = [&](bool ok, const std::string& what) {
        if (!ok) failures.push_back(what);
        return ok;
    };

    // The pid of service s's current process when it is a live child of this mainstay.
    auto child_proc = [&](const Service& s) -> std::optional<Proc> {
        const int pid = read_pid(s.pid_file);
        if (pid <= 1) return std::nullopt;
        const Stat st = stat_of(pid);
        if (st.ppid != ms || st.state == 0 || st.state == 'Z') return std::nullopt;
        return Proc{pid, st.start};
    };
    // Signal a recorded process only while it is still that child of this mainstay.
    auto signal_child = [&](const Proc& p, int sig) {
        const Stat st = stat_of(p.pid);
        if (p.pid <= 1 || st.ppid != ms || st.start != p.start || st.state == 0 || st.state == 'Z') return false;
        return signal_process(p.pid, sig);
    };

    // The prober: mainstay's /healthz every 100 ms, latency recorded (it is answered on the
    // event loop, so a stall shows here).
    std::atomic<bool> prober_on{false}, prober_stop{false};
    std::mutex latency_mutex;
    std::vector<double> latencies;
    std::atomic<int> healthz_failures{0};
    std::thread prober([&] {
        while (!prober_stop) {
            if (prober_on) {
                const auto t = Clock::now();
                int code = 0;
                auto body = http_get(http_port, "/healthz", milliseconds(5000), &code);
                const double ms_taken = since(t) * 1000;
                if (prober_on) {
                    std::lock_guard lock(latency_mutex);
                    latencies.push_back(ms_taken);
                    if (!body || code != 200) ++healthz_failures;
                }
            }
            if (!console_drain) std::this_thread::sleep_for(milliseconds(100));
        }
    });

    auto all_ready = [&](int* ready_count = nullptr) {
        auto doc = status_of(http_port);
        if (!doc) return false;
        int ready = 0;
        for (const auto& s : (*doc)["services"]) ready += s.value("ready", false) ? 1 : 0;
        if (ready_count) *ready_count = ready;
        return ready == n;
    };
    auto wait_all_ready = [&](seconds limit, double* took = nullptr) {
        const auto begin = Clock::now();
        int ready = 0;
        while (!out_of_time()) {
            if (all_ready(&ready)) {
                if (took) *took = since(begin);
                return true;
            }
            if (Clock::now() - begin > limit) break;
            reap();
            std::this_thread::sleep_for(milliseconds(100));
        }
        say("  not all ready after %.0f s: %d/%d", since(begin), ready, n);
        return false;
    };

    // Faults.
    enum Kind { kKill, kStop, kUnhealthy, kKinds };
    long injected[kKinds] = {};
    struct PendingCont {
        Proc proc;
        Clock::time_point at;
    };
    struct PendingRestore {
        size_t service;
        Clock::time_point at;
    };
    struct PendingKill {
        int old_pid;
        Clock::time_point at;
    };
    std::vector<PendingCont> conts;
    std::vector<PendingRestore> restores;
    std::map<size_t, PendingKill> kills;  // by service: waiting for its next process
    std::vector<double> reactions;        // SIGKILL -> a new process of the service, ms
    auto settle_faults = [&] {            // SIGCONT and restore everything pending, now
        for (auto& c : conts) signal_child(c.proc, SIGCONT);
        conts.clear();
        for (auto& r : restores) std::ofstream(services[r.service].healthy) << "ok\n";
        restores.clear();
        kills.clear();
    };
    auto tick = [&](bool inject, Clock::time_point& next_fault, Clock::time_point& next_exit_refresh) {
        const auto now = Clock::now();
        reap();
        for (auto it = conts.begin(); it != conts.end();) {
            if (it->at <= now) {
                signal_child(it->proc, SIGCONT);
                it = conts.erase(it);
            } else {
                ++it;
            }
        }
        for (auto it = restores.begin(); it != restores.end();) {
            if (it->at <= now) {
                std::ofstream(services[it->service].healthy) << "ok\n";
                it = restores.erase(it);
            } else {
                ++it;
            }
        }
        for (auto it = kills.begin(); it != kills.end();) {
            const auto p = child_proc(services[it->first]);
            if (p && p->pid != it->second.old_pid) {
                reactions.push_back(std::chrono::duration<double, std::milli>(now - it->second.at).count());
                it = kills.erase(it);
            } else if (now - it->second.at > seconds(30)) {
                reactions.push_back(30000);
                it = kills.erase(it);
            } else {
                ++it;
            }
        }
        if (now >= next_exit_refresh) {
            set_exit_files(true);
            next_exit_refresh = now + seconds(1);
        }
        if (!inject || now < next_fault) return;
        next_fault = now + milliseconds(uniform(30, 170));
        const size_t victim = static_cast<size_t>(uniform(0, n - 1));
        Service& s = services[victim];
        const int kind = uniform(0, kKinds - 1);
        if (kind == kUnhealthy) {
            if (std::any_of(restores.begin(), restores.end(), [&](auto& r) { return r.service == victim; })) return;
            fs::remove(s.healthy);
            restores.push_back({victim, now + milliseconds(uniform(200, 6000))});
            ++injected[kind];
            return;
        }
        const auto p = child_proc(s);
        if (!p) return;
        if (kind == kKill) {
            if (kills.count(victim) == 0 && signal_child(*p, SIGKILL)) {
                kills[victim] = {p->pid, now};
                ++injected[kind];
            }
        } else if (kind == kStop) {
            if (std::any_of(conts.begin(), conts.end(), [&](auto& c) { return c.proc.pid == p->pid; })) return;
            if (signal_child(*p, SIGSTOP)) {
                conts.push_back({*p, now + milliseconds(uniform(100, 5000))});
                ++injected[kind];
            }
        }
    };
    auto run_faults = [&](double secs, bool inject) {
        const auto end =
            Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
        auto next_fault = Clock::now(), next_exit_refresh = Clock::now();
        while (Clock::now() < end && !out_of_time()) {
            tick(inject, next_fault, next_exit_refresh);
            std::this_thread::sleep_for(milliseconds(10));
        }
    };
    // With the exit files emptied, wait until each exiting service runs a process started
    // without --exit-after (an older one still exits once), so that none exits while the
    // figures are taken.
    auto stop_exits = [&](seconds limit) {
        set_exit_files(false);
        const auto end = Clock::now() + limit;
        while (!out_of_time() && Clock::now() < end) {
            reap();
            const bool settled = std::all_of(services.begin(), services.end(), [&](const Service& s) {
                if (!s.exits) return true;
                const auto p = child_proc(s);
                if (!p) return false;
                std::ifstream in("/proc/" + std::to_string(p->pid) + "/cmdline");
                std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                return cmdline.find("--exit-after") == std::string::npos &&
                       cmdline.find("test-service") != std::string::npos;
            });
            if (settled) return true;
            std::this_thread::sleep_for(milliseconds(100));
        }
        return false;
    };
    // descriptors and RSS at a quiet moment: the minimum over a few samples (a probe's
    // connection or the status file's temporary may be open at any one of them).
    auto quiet_figures = [&](long& fds, long& rss, std::vector<std::string>& targets) {
        prober_on = false;
        std::this_thread::sleep_for(milliseconds(1500));
        fds = 1 << 30;
        rss = 1 << 30;
        for (int i = 0; i < 10; ++i) {
            auto t = fd_targets(ms);
            if (static_cast<long>(t.size()) < fds) {
                fds = static_cast<long>(t.size());
                targets = std::move(t);
            }
            rss = std::min(rss, rss_kib(ms));
            std::this_thread::sleep_for(milliseconds(150));
        }
        prober_on = true;
    };
    auto restarts_total = [&] {
        long total = 0;
        if (auto doc = status_of(http_port)) {
            for (const auto& s : (*doc)["services"]) total += s.value("restarts", 0L);
        }
        return total;
    };
    auto console_lines_with = [&](const std::string& needle) {
        std::vector<std::string> out;
        std::lock_guard lock(console_mutex);
        std::istringstream in(console_text);
        for (std::string line; std::getline(in, line);) {
            if (line.find(needle) != std::string::npos && line.find(" | ") == std::string::npos) out.push_back(line);
        }
        return out;
    };

    // Filled to the last byte: what mainstay writes to logs/ from then on fails with ENOSPC.
    long filler_bytes = 0;
    auto fill_disk = [&] {
        if (!disk_mounted) return;
        const int fd = ::open((dir / "logs" / "filler").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) return;
        static char block[4096];
        std::memset(block, 'x', sizeof block);
        while (::write(fd, block, sizeof block) > 0) filler_bytes += sizeof block;
        while (::write(fd, block, 1) > 0) filler_bytes += 1;
        ::close(fd);
    };

    long fds_base = 0, rss_base = 0, fds_end = 0, rss_end = 0, restarts_phase1 = 0, restarts_phase2 = 0;
    std::vector<std::string> targets_base, targets_end;
    int zombies = -1, children = -1, grandchildren_alive = 0, exit_code = -1;
    size_t old_procs = 0, old_left = 0;
    double all_ready_after_restart = -1, all_ready_at_end = -1, all_ready_at_end_exits = -1;
    std::vector<std::string> leftover_lines;
    double dropped_console = -1, dropped_file = -1;
    const double phase1 = total_seconds * 0.4, warmup = std::min(15.0, total_seconds * 0.1),
                 phase2 = total_seconds - phase1 - warmup;

    do {
        // 1. The first instance, every service ready, the disk filled.
        ms = start_instance();
        say("mainstay started (pid %d)", ms);
        double took = 0;
        if (!check(wait_all_ready(seconds(90), &took), "the first instance brought every service ready")) break;
        say("every service ready after %.1f s", took);
        fill_disk();
        if (disk_mounted) say("log disk full: %ld bytes of filler on a 2 MB tmpfs", filler_bytes);
        prober_on = true;

        // 2. Faults on the first instance, then mainstay SIGKILLed in the middle of them.
        say("faults for %.0f s", phase1);
        run_faults(phase1, true);
        if (out_of_time()) break;
        restarts_phase1 = restarts_total();
        std::vector<Proc> old;
        if (auto doc = status_of(http_port)) {
            for (const auto& s : (*doc)["services"]) {
                if (s.contains("pid") && s["pid"].is_number_integer()) {
                    const int pid = s["pid"].get<int>();
                    const Stat st = stat_of(pid);
                    if (st.state != 0 && st.ppid == ms) old.push_back({pid, st.start});
                }
            }
        }
        for (auto& s : services) {
            for (const auto& file : {s.pid_file, s.grandchild_pid_file}) {
                const int pid = read_pid(file);
                const Stat st = stat_of(pid);
                if (pid > 1 && st.state != 0 && st.state != 'Z' &&
                    std::none_of(old.begin(), old.end(), [&](auto& p) { return p.pid == pid; })) {
                    // A grandchild's parent is its service (or, orphaned, mainstay).
                    const Stat parent = stat_of(st.ppid);
                    if (st.ppid == ms || parent.ppid == ms) old.push_back({pid, st.start});
                }
            }
        }
        old_procs = old.size();
        prober_on = false;
        say("SIGKILL to mainstay (pid %d) with %zu processes of its own running, faults going on", ms, old.size());
        signal_process(ms, SIGKILL);
        const pid_t old_ms = ms;
        run_faults(0.3, false);  // reaps it
        conts.clear();           // their processes belonged to the old instance
        settle_faults();         // every healthy file back

        // 3. A new instance on the same configuration: nothing of the old one may remain.
        ms = start_instance();
        say("mainstay started again (pid %d, the old one was %d)", ms, old_ms);
        const auto restart_begin = Clock::now();
        bool ready = false;
        while (!out_of_time() && Clock::now() - restart_begin < seconds(90)) {
            reap();
            old_left = static_cast<size_t>(
                std::count_if(old.begin(), old.end(), [](const Proc& p) { return p.same_process_alive(); }));
            if (old_left == 0 && all_ready()) {
                ready = true;
                break;
            }
            std::this_thread::sleep_for(milliseconds(100));
        }
        all_ready_after_restart = ready ? since(restart_begin) : -1;
        check(old_left == 0, "no process of the SIGKILLed instance remains");
        if (!check(ready, "the new instance brought every service ready")) break;
        say("new instance: every service ready, no old process left, after %.1f s", all_ready_after_restart);
        prober_on = true;

        // 4. Warm-up, then the baseline at a quiet moment.
        run_faults(warmup, true);
        settle_faults();
        check(stop_exits(seconds(60)), "the exiting services restarted without their exit");
        if (!check(wait_all_ready(seconds(60)), "every service ready before the baseline")) break;
        quiet_figures(fds_base, rss_base, targets_base);
        say("baseline: %ld descriptors, RSS %.1f MB", fds_base, static_cast<double>(rss_base) / 1024);

        // 5. Faults on the new instance, then none, and a look at what is left.
        say("faults for %.0f s", phase2);
        run_faults(phase2, true);
        if (out_of_time()) break;
        restarts_phase2 = restarts_total();
        settle_faults();
        say("faults stopped; waiting for every service to be ready");
        const auto faults_end = Clock::now();
        check(wait_all_ready(seconds(90), &all_ready_at_end), "every service ready after the faults");
        check(stop_exits(seconds(60)), "the exiting services restarted without their exit");
        check(wait_all_ready(seconds(60)), "every service ready once the exits stopped");
        all_ready_at_end_exits = since(faults_end);
        if (disk_mounted) fs::remove(dir / "logs" / "filler");  // room again: "writing again"
        prober_on = false;
        reap();
        quiet_figures(fds_end, rss_end, targets_end);
        prober_on = false;
        zombies = 1 << 20;
        for (int i = 0; i < 3; ++i) {
            zombies = std::min(zombies, static_cast<int>(children_of(ms, true).size()));
            std::this_thread::sleep_for(milliseconds(100));
        }
        children = static_cast<int>(children_of(ms, false).size());
        for (auto& s : services) {
            if (!s.grandchild) continue;
            const Stat st = stat_of(read_pid(s.grandchild_pid_file));
            grandchildren_alive += st.state != 0 && st.state != 'Z';
        }
        if (auto metrics = http_get(http_port, "/metrics", milliseconds(3000))) {
            dropped_console = dropped_file = 0;
            std::istringstream in(*metrics);
            for (std::string line; std::getline(in, line);) {
                if (line.rfind("mainstay_output_dropped_lines_total{", 0) != 0) continue;
                const double v = std::atof(line.c_str() + line.rfind(' ') + 1);
                (line.find("sink=\"console\"") != std::string::npos ? dropped_console : dropped_file) += v;
            }
        }
    } while (false);

    // The end, on every path: SIGTERM to the instance still running (a clean stop ends its
    // services and their groups), SIGKILL to its group after 30 s, the mount undone.
    prober_on = false;
    prober_stop = true;
    prober.join();
    settle_faults();
    for (auto& in : instances) {
        reap();
        if (in.reaped || in.pid <= 1) continue;
        const bool current = in.pid == ms;
        signal_process(in.pid, SIGTERM);
        const auto end = Clock::now() + seconds(30);
        while (!in.reaped && Clock::now() < end) {
            reap();
            std::this_thread::sleep_for(milliseconds(20));
        }
        if (!in.reaped) {
            mainstay::testing::signal_group(in.pid, SIGKILL);
            ::waitpid(in.pid, &in.status, 0);
            in.reaped = true;
            if (current) exit_code = -2;
        } else if (current) {
            exit_code = WIFEXITED(in.status) ? WEXITSTATUS(in.status) : 128 + WTERMSIG(in.status);
        }
    }
    std::this_thread::sleep_for(milliseconds(300));
    reap();
    // What is still in the pipe, read at full speed now (mainstay's lines of the last seconds).
    console_drain = true;
    console_reader.join();
    if (const char* keep = std::getenv("CHAOS_SOAK_CONSOLE")) {
        std::lock_guard lock(console_mutex);
        std::ofstream(keep) << console_text;
    }
    leftover_lines = console_lines_with("left by a previous instance");
    const auto disk_full_lines = console_lines_with("cannot write");
    // The console lags far behind by then (mainstay queues what it cannot write yet, and drops
    // the rest at exit): mainstay's own log file, once the disk has room again, says the rest.
    // Every log file is also read for torn lines: a line cut by the full disk that the next one,
    // written once there was room, continued (a time stamp after the start of a line).
    std::vector<std::string> writing_again, torn;
    if (disk_mounted) {
        const std::regex stamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
        std::error_code e;
        for (auto it = fs::directory_iterator(dir / "logs", e); !e && it != fs::directory_iterator(); it.increment(e)) {
            if (it->path().extension() != ".log") continue;
            std::ifstream log(it->path());
            for (std::string line; std::getline(log, line);) {
                if (it->path().filename() == "mainstay.log" && line.find("writing again") != std::string::npos)
                    writing_again.push_back(line);
                std::smatch m;
                if (std::regex_search(line, m, stamp) && m.position(0) > 0)
                    torn.push_back(it->path().filename().string() + ": " + line.substr(0, 120));
            }
        }
    }
    std::string disk_note;
    if (disk_mounted) {
        if (::umount2((dir / "logs").c_str(), 0) != 0) {
            disk_note = std::string(" (umount: ") + std::strerror(errno) + ", detached)";
            ::umount2((dir / "logs").c_str(), MNT_DETACH);
        }
    }
    ::close(console[0]);
    ::close(console[1]);
    std::error_code ec;
    fs::remove_all(dir, ec);

    if (g_interrupted) failures.push_back("interrupted");
    if (Clock::now() > hard_deadline) failures.push_back("hard deadline passed");
    const bool finished = fds_end > 0;
    if (finished) {
        check(zombies == 0, "no zombie child of mainstay");
        check(children == n, "mainstay's children: its services only (no orphaned grandchild)");
        check(fds_end == fds_base, "descriptors back to the baseline");
        check(rss_end < 2 * rss_base && rss_end - rss_base < 10 * 1024, "RSS below 2x the baseline and +10 MB");
        check(exit_code == 0, "clean exit (0) on SIGTERM");
        check(!disk_mounted || !disk_full_lines.empty(), "the full log disk reported (console)");
        check(!disk_mounted || !writing_again.empty(), "writing again once the disk had room (mainstay.log)");
        check(torn.empty(), "no torn line in the log files");
    }
    double p50 = 0, p99 = 0, worst = 0;
    size_t samples = 0;
    int healthz_failed = healthz_failures;
    {
        std::lock_guard lock(latency_mutex);
        p50 = percentile(latencies, 0.5);
        p99 = percentile(latencies, 0.99);
        worst = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
        samples = latencies.size();
    }
    if (finished) {
        check(worst < 2000 && healthz_failed == 0, "/healthz answered within 2 s throughout");
        check(percentile(reactions, 1.0) < 5000, "a SIGKILLed service running again within 5 s");
    }

    std::printf("\nchaos soak: %d services, seed %u, %.0f s in all\n", n, seed, since(soak_begin));
    std::printf("  %-44s %ld\n", "faults: SIGKILL", injected[kKill]);
    std::printf("  %-44s %ld\n", "faults: SIGSTOP, SIGCONT after 0.1-5 s", injected[kStop]);
    std::printf("  %-44s %ld\n", "faults: unhealthy for 0.2-6 s (503)", injected[kUnhealthy]);
    std::printf("  %-44s %d services, every 2-20 s\n", "faults: exits by themselves", n / 10);
    std::printf("  %-44s %ld (first instance), %ld (second)\n", "restarts seen (status)", restarts_phase1,
                restarts_phase2);
    std::printf("  %-44s p50 %.0f ms, p99 %.0f ms, max %.0f ms (%zu)\n", "SIGKILL -> running again",
                percentile(reactions, 0.5), percentile(reactions, 0.99), percentile(reactions, 1.0), reactions.size());
    std::printf("  %-44s p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d failed (%zu)\n", "mainstay /healthz latency", p50,
                p99, worst, healthz_failed, samples);
    std::printf("  %-44s %lld bytes read; dropped lines: %.0f console, %.0f file\n", "slow console (1 KiB / 100 ms)",
                console_bytes.load(), dropped_console, dropped_file);
    if (disk_mounted) {
        std::printf("  %-44s %zu 'cannot write' (console), %zu 'writing again' (its log file)%s\n",
                    "full log disk (2 MB tmpfs)", disk_full_lines.size(), writing_again.size(), disk_note.c_str());
        if (!disk_full_lines.empty()) std::printf("      %s\n", disk_full_lines.front().c_str());
        if (!writing_again.empty()) std::printf("      %s\n", writing_again.front().c_str());
        std::printf("  %-44s %zu\n", "torn lines in the log files", torn.size());
        for (size_t i = 0; i < torn.size() && i < 3; ++i) std::printf("      %s\n", torn[i].c_str());
    } else {
        std::printf("  %-44s SKIPPED: %s\n", "full log disk", disk_skip.c_str());
    }
    std::printf("  %-44s %zu processes recorded, %zu left; all ready again after %.1f s\n",
                "mainstay SIGKILLed, started again", old_procs, old_left, all_ready_after_restart);
    for (const auto& line : leftover_lines) std::printf("      %s\n", line.c_str());
    std::printf("  %-44s %s, after %.1f s (%.1f s until the exiting ones had made their last exit)\n",
                "every service ready after the faults", all_ready_at_end >= 0 ? "yes" : "NO", all_ready_at_end,
                all_ready_at_end_exits);
    std::printf(
        "  %-44s %d zombies; %d children for %d services; %d grandchildren alive of %d forked\n", "mainstay's children",
        zombies, children, n, grandchildren_alive,
        static_cast<int>(std::count_if(services.begin(), services.end(), [](auto& s) { return s.grandchild; })));
    std::printf("  %-44s %ld -> %ld\n", "mainstay descriptors (baseline -> end)", fds_base, fds_end);
    if (fds_end != fds_base) {
        std::vector<std::string> gone, added;
        std::set_difference(targets_base.begin(), targets_base.end(), targets_end.begin(), targets_end.end(),
                            std::back_inserter(gone));
        std::set_difference(targets_end.begin(), targets_end.end(), targets_base.begin(), targets_base.end(),
                            std::back_inserter(added));
        for (const auto& t : gone) std::printf("      only at the baseline: %s\n", t.c_str());
        for (const auto& t : added) std::printf("      only at the end: %s\n", t.c_str());
    }
    std::printf("  %-44s %.1f -> %.1f MB\n", "mainstay RSS (baseline -> end)", static_cast<double>(rss_base) / 1024,
                static_cast<double>(rss_end) / 1024);
    std::printf("  %-44s %d\n", "exit status after SIGTERM", exit_code);
    if (!finished && failures.empty()) failures.push_back("the soak did not get to its end checks");
    for (const auto& f : failures) std::printf("FAILED: %s\n", f.c_str());
    std::printf("%s\n", failures.empty() ? "chaos soak: PASS" : "chaos soak: FAIL");
    return failures.empty() ? 0 : 1;
}
