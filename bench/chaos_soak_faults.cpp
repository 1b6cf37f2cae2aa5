// The chaos soak's faults and waits (chaos_soak.hpp): the services' processes and the signals
// they may get, every service ready, the fault loop, the exits stopped, the figures at a quiet
// moment, the full disk.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "chaos_soak.hpp"

namespace mainstay::bench::soak {

bool Soak::check(bool ok, const std::string& what) {
    if (!ok) failures.push_back(what);
    return ok;
}

// The pid of service s's current process when it is a live child of this mainstay.
std::optional<Proc> Soak::child_proc(const Service& s) const {
    const int pid = read_pid(s.pid_file);
    if (pid <= 1) return std::nullopt;
    const Stat st = stat_of(pid);
    if (st.ppid != ms || st.state == 0 || st.state == 'Z') return std::nullopt;
    return Proc{pid, st.start_time};
}

// Signal a recorded process only while it is still that child of this mainstay.
bool Soak::signal_child(const Proc& p, int sig) const {
    const Stat st = stat_of(p.pid);
    if (p.pid <= 1 || st.ppid != ms || st.start_time != p.start || st.state == 0 || st.state == 'Z') return false;
    return signal_process(p.pid, sig);
}

bool Soak::all_ready(int* ready_count) {
    auto doc = status_of(http_port);
    if (!doc) return false;
    int ready = 0;
    for (const auto& s : (*doc)["services"]) ready += s.value("ready", false) ? 1 : 0;
    if (ready_count) *ready_count = ready;
    return ready == n;
}

bool Soak::wait_all_ready(seconds limit, double* took) {
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
}

// SIGCONT and restore everything pending, now.
void Soak::settle_faults() {
    for (auto& c : conts) signal_child(c.proc, SIGCONT);
    conts.clear();
    for (auto& r : restores) std::ofstream(services[r.service].healthy) << "ok\n";
    restores.clear();
    kills.clear();
}

void Soak::tick(bool inject, Clock::time_point& next_fault, Clock::time_point& next_exit_refresh) {
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
}

void Soak::run_faults(double secs, bool inject) {
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
    auto next_fault = Clock::now(), next_exit_refresh = Clock::now();
    while (Clock::now() < end && !out_of_time()) {
        tick(inject, next_fault, next_exit_refresh);
        std::this_thread::sleep_for(milliseconds(10));
    }
}

// With the exit files emptied, wait until each exiting service runs a process started
// without --exit-after (an older one still exits once), so that none exits while the
// figures are taken.
bool Soak::stop_exits(seconds limit) {
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
}

// descriptors and RSS at a quiet moment: the minimum over a few samples (a probe's
// connection or the status file's temporary may be open at any one of them).
void Soak::quiet_figures(long& fds, long& rss, std::vector<std::string>& targets) {
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
}

long Soak::restarts_total() {
    long total = 0;
    if (auto doc = status_of(http_port)) {
        for (const auto& s : (*doc)["services"]) total += s.value("restarts", 0L);
    }
    return total;
}

// Filled to the last byte: what mainstay writes to logs/ from then on fails with ENOSPC.
void Soak::fill_disk() {
    if (!disk_mounted) return;
    const int fd = ::open((dir / "logs" / "filler").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return;
    static char block[4096];
    std::memset(block, 'x', sizeof block);
    while (::write(fd, block, sizeof block) > 0) filler_bytes += sizeof block;
    while (::write(fd, block, 1) > 0) filler_bytes += 1;
    ::close(fd);
}

}  // namespace mainstay::bench::soak
