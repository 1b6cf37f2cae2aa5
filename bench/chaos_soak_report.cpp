// The end of the chaos soak, on every path (chaos_soak.hpp): the instances stopped, the console
// and the log files read, the directory removed, the last checks and the report.
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include "chaos_soak.hpp"

namespace mainstay::bench::soak {

// The end, on every path: SIGTERM to the instance still running (a clean stop ends its
// services and their groups), SIGKILL to its group after 30 s, the mount undone.
void Soak::stop_instances() {
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
}

// What is still in the pipe, read at full speed now (mainstay's lines of the last seconds).
void Soak::drain_console() {
    console_drain = true;
    console_reader.join();
    if (const char* keep = std::getenv("CHAOS_SOAK_CONSOLE")) {
        std::lock_guard lock(console_mutex);
        std::ofstream(keep) << console_text;
    }
    leftover_lines = console_lines_with("left by a previous instance");
    disk_full_lines = console_lines_with("cannot write");
}

std::vector<std::string> Soak::console_lines_with(const std::string& needle) {
    std::vector<std::string> out;
    std::lock_guard lock(console_mutex);
    std::istringstream in(console_text);
    for (std::string line; std::getline(in, line);) {
        if (line.find(needle) != std::string::npos && line.find(" | ") == std::string::npos) out.push_back(line);
    }
    return out;
}

// The console lags far behind by then (mainstay queues what it cannot write yet, and drops
// the rest at exit): mainstay's own log file, once the disk has room again, says the rest.
// Every log file is also read for torn lines: a line cut by the full disk that the next one,
// written once there was room, continued (a time stamp after the start of a line).
void Soak::read_log_files() {
    if (!disk_mounted) return;
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

void Soak::clean_up() {
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
}

void Soak::final_checks() {
    if (g_interrupted) failures.push_back("interrupted");
    if (Clock::now() > hard_deadline) failures.push_back("hard deadline passed");
    finished = fds_end > 0;
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
    healthz_failed = healthz_failures;
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
}

void Soak::print_report() {
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
}

}  // namespace mainstay::bench::soak
