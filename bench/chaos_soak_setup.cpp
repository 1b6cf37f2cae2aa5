// The chaos soak before its first instance (chaos_soak.hpp): the arguments and signals, the
// directory and its log disk, the configuration, the slow console and the /healthz prober; and
// how an instance of mainstay is started and reaped.
#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "chaos_soak.hpp"

namespace mainstay::bench::soak {

volatile sig_atomic_t g_interrupted = 0;

namespace {

void on_signal(int) {
    g_interrupted = 1;
}

}  // namespace

Soak::Soak(int argc, char** argv)
    : mainstay(fs::absolute(argv[1]).string()),
      test_service(fs::absolute(argv[2]).string()),
      total_seconds(std::max(30, argc > 3 ? std::atoi(argv[3]) : 180)),
      n(std::max(4, argc > 4 ? std::atoi(argv[4]) : 50)),
      seed(argc > 5 ? static_cast<unsigned>(std::strtoul(argv[5], nullptr, 10))
                    : static_cast<unsigned>(std::random_device{}())),
      random(seed),
      phase1(total_seconds * 0.4),
      warmup(std::min(15.0, total_seconds * 0.1)),
      phase2(total_seconds - phase1 - warmup) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    // Processes orphaned when mainstay is SIGKILLed come to this soak, which reaps them: a
    // zombie nobody reaps would otherwise look like a process of the old instance left behind.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    soak_begin = Clock::now();
    // Every wait below has its own deadline; this one bounds the whole run besides.
    hard_deadline = soak_begin + seconds(total_seconds + 420);
}

int Soak::uniform(int lo, int hi) {
    return lo + static_cast<int>(random() % static_cast<unsigned>(hi - lo + 1));
}

bool Soak::out_of_time() const {
    return g_interrupted || Clock::now() > hard_deadline;
}

bool Soak::make_directory() {
    char tmpl[] = "/tmp/mainstay-chaos-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        std::perror("mkdtemp");
        return false;
    }
    dir = tmpl;
    for (const char* sub : {"services.d", "logs", "run", "health", "pids", "exit"}) fs::create_directories(dir / sub);
    say("chaos soak: %d services, %d s of faults, seed %u, in %s", n, total_seconds, seed, dir.c_str());
    return true;
}

// The full log disk: a 2 MB tmpfs on logs/, where mount is allowed.
void Soak::mount_log_disk() {
    if (::geteuid() != 0) {
        disk_skip = "not root";
    } else if (::mount("tmpfs", (dir / "logs").c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,mode=0755") != 0) {
        disk_skip = std::string("mount -t tmpfs failed: ") + std::strerror(errno);
    } else {
        disk_mounted = true;
    }
    if (!disk_mounted) say("full log disk: SKIPPED (%s)", disk_skip.c_str());
}

void Soak::write_configuration() {
    std::vector<int> ports;
    http_port = pick_port(random, ports);
    std::ofstream(dir / "mainstay.yaml") << "services_dir: services.d\n"
                                            "log: {file: logs/mainstay.log, level: info}\n"
                                            "status: {socket: run/control.sock, file: run/status.json, http: 127.0.0.1:"
                                         << http_port << ", print_interval: 0s}\n"
                                         << "startup: {timeout: 120s}\n";
    services.resize(static_cast<size_t>(n));
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
    set_exit_files(true);
}

void Soak::set_exit_files(bool on) {
    for (auto& s : services) {
        if (!s.exits) continue;
        const fs::path tmp = s.exit_file.string() + ".tmp";
        std::ofstream(tmp) << (on ? std::to_string(uniform(2000, 20000)) + "\n" : "");
        fs::rename(tmp, s.exit_file);
    }
}

// The slow console: one pipe for both instances' stdout and stderr, read 1 KiB every 100 ms.
bool Soak::start_console() {
    if (::pipe2(console, O_CLOEXEC) != 0) return false;
    console_reader = std::thread([this] { read_console(); });
    return true;
}

void Soak::read_console() {
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
}

void Soak::reap() {
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
}

pid_t Soak::start_instance() {
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
}

// The prober: mainstay's /healthz every 100 ms, latency recorded (it is answered on the
// event loop, so a stall shows here).
void Soak::start_prober() {
    prober = std::thread([this] { probe_healthz(); });
}

void Soak::probe_healthz() {
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
}

}  // namespace mainstay::bench::soak
