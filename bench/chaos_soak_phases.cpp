// The chaos soak's steps 1-5 (chaos_soak.hpp): each returns false when the soak cannot go on
// (the end and the report follow on every path).
#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "chaos_soak.hpp"

namespace mainstay::bench::soak {

// 1. The first instance, every service ready, the disk filled.
bool Soak::first_instance() {
    ms = start_instance();
    say("mainstay started (pid %d)", ms);
    double took = 0;
    if (!check(wait_all_ready(seconds(90), &took), "the first instance brought every service ready")) return false;
    say("every service ready after %.1f s", took);
    fill_disk();
    if (disk_mounted) say("log disk full: %ld bytes of filler on a 2 MB tmpfs", filler_bytes);
    prober_on = true;
    return true;
}

// 2. Faults on the first instance, then mainstay SIGKILLed in the middle of them.
bool Soak::faults_then_sigkill() {
    say("faults for %.0f s", phase1);
    run_faults(phase1, true);
    if (out_of_time()) return false;
    restarts_phase1 = restarts_total();
    if (auto doc = status_of(http_port)) {
        for (const auto& s : (*doc)["services"]) {
            if (s.contains("pid") && s["pid"].is_number_integer()) {
                const int pid = s["pid"].get<int>();
                const Stat st = stat_of(pid);
                if (st.state != 0 && st.ppid == ms) old.push_back({pid, st.start_time});
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
                if (st.ppid == ms || parent.ppid == ms) old.push_back({pid, st.start_time});
            }
        }
    }
    old_procs = old.size();
    prober_on = false;
    say("SIGKILL to mainstay (pid %d) with %zu processes of its own running, faults going on", ms, old.size());
    signal_process(ms, SIGKILL);
    old_ms = ms;
    run_faults(0.3, false);  // reaps it
    conts.clear();           // their processes belonged to the old instance
    settle_faults();         // every healthy file back
    return true;
}

// 3. A new instance on the same configuration: nothing of the old one may remain.
bool Soak::second_instance() {
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
    if (!check(ready, "the new instance brought every service ready")) return false;
    say("new instance: every service ready, no old process left, after %.1f s", all_ready_after_restart);
    prober_on = true;
    return true;
}

// 4. Warm-up, then the baseline at a quiet moment.
bool Soak::baseline() {
    run_faults(warmup, true);
    settle_faults();
    check(stop_exits(seconds(60)), "the exiting services restarted without their exit");
    if (!check(wait_all_ready(seconds(60)), "every service ready before the baseline")) return false;
    quiet_figures(fds_base, rss_base, targets_base);
    say("baseline: %ld descriptors, RSS %.1f MB", fds_base, static_cast<double>(rss_base) / 1024);
    return true;
}

// 5. Faults on the new instance, then none, and a look at what is left.
void Soak::faults_then_look() {
    say("faults for %.0f s", phase2);
    run_faults(phase2, true);
    if (out_of_time()) return;
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
}

}  // namespace mainstay::bench::soak
