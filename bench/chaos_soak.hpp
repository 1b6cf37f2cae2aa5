// What the files of the chaos soak share (what the soak does: the comment at the top of
// chaos_soak.cpp): the helpers that read /proc, ask over HTTP and pick ports
// (chaos_soak_probe.cpp), and Soak, the soak's state, with a member function for each step of
// main (the setup, the faults, the phases 1-5, the end and the report: chaos_soak_setup.cpp,
// chaos_soak_faults.cpp, chaos_soak_phases.cpp, chaos_soak_report.cpp).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/pid_file.hpp"
#include "support/proc_stats.hpp"
#include "support/signal_guard.hpp"

namespace mainstay::bench::soak {

using mainstay::testing::descriptors;
using mainstay::testing::rss_kib;
using mainstay::testing::signal_process;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Set by the handler of SIGINT, SIGTERM and SIGHUP (installed by Soak's constructor).
extern volatile sig_atomic_t g_interrupted;

double since(Clock::time_point t);
// A line on stdout after the seconds since the first one.
__attribute__((format(printf, 1, 2))) void say(const char* fmt, ...);

// What /proc/PID/stat says: state, parent, start time (clock ticks since boot). state 0: gone.
using Stat = mainstay::runtime::proc::Stat;
using mainstay::testing::read_pid;
using mainstay::testing::stat_of;

// A process as this soak knows it: a pid and the start time it had when it was seen.
struct Proc {
    int pid = -1;
    unsigned long long start = 0;
    bool same_process_alive() const {
        const Stat s = stat_of(pid);
        return s.state != 0 && s.start_time == start;
    }
};

std::vector<int> children_of(int parent, bool zombies_only);

// A loopback port outside the usual ephemeral range (32768-60999) that was free a moment ago,
// so that other programs' outgoing connections do not take it while a service is restarting.
int pick_port(std::mt19937& random, std::vector<int>& taken);

// GET http://127.0.0.1:PORT/PATH with a deadline; the body, or nullopt.
std::optional<std::string> http_get(int port, const std::string& path, milliseconds limit, int* status = nullptr);

std::optional<nlohmann::json> status_of(int port);

// What each of `pid`'s descriptors points to ("pipe:[123]" and "socket:[456]" cut to their kind).
std::vector<std::string> fd_targets(int pid);

// The percentile q (0..1) of `v` (sorted here), or 0 when empty.
double percentile(std::vector<double> v, double q);

struct Service {
    std::string name;
    int port = 0;
    bool liveness = false, exits = false, chatty = false, grandchild = false;
    fs::path healthy, pid_file, exit_file, grandchild_pid_file;
};

// The soak. main calls one member function a step; the members are what several steps share.
struct Soak {
    // The arguments (argc >= 3), the signal handlers, the subreaper, the start of the clock.
    Soak(int argc, char** argv);

    // chaos_soak_setup.cpp: before the first instance.
    bool make_directory();
    void mount_log_disk();
    void write_configuration();
    bool start_console();
    void start_prober();

    // chaos_soak_phases.cpp: the steps 1-5; false when the soak ends there.
    bool first_instance();
    bool faults_then_sigkill();
    bool second_instance();
    bool baseline();
    void faults_then_look();

    // chaos_soak_report.cpp: the end, on every path.
    void stop_instances();
    void drain_console();
    void read_log_files();
    void clean_up();
    void final_checks();
    void print_report();

    // What the steps use.
    int uniform(int lo, int hi);
    bool out_of_time() const;
    void set_exit_files(bool on);
    void read_console();
    void probe_healthz();
    void reap();
    pid_t start_instance();
    bool check(bool ok, const std::string& what);
    std::optional<Proc> child_proc(const Service& s) const;
    bool signal_child(const Proc& p, int sig) const;
    bool all_ready(int* ready_count = nullptr);
    bool wait_all_ready(seconds limit, double* took = nullptr);
    void settle_faults();
    void tick(bool inject, Clock::time_point& next_fault, Clock::time_point& next_exit_refresh);
    void run_faults(double secs, bool inject);
    bool stop_exits(seconds limit);
    void quiet_figures(long& fds, long& rss, std::vector<std::string>& targets);
    long restarts_total();
    std::vector<std::string> console_lines_with(const std::string& needle);
    void fill_disk();

    const std::string mainstay, test_service;
    const int total_seconds;
    const int n;
    const unsigned seed;
    std::mt19937 random;
    const double phase1, warmup, phase2;
    Clock::time_point soak_begin, hard_deadline;

    fs::path dir;
    bool disk_mounted = false;
    std::string disk_skip;
    int http_port = 0;
    std::vector<Service> services;

    int console[2] = {-1, -1};
    std::mutex console_mutex;
    std::string console_text;
    std::atomic<bool> console_drain{false};
    std::atomic<long long> console_bytes{0};
    std::thread console_reader;

    // Instances of mainstay (each in a process group of its own) and what became of them.
    struct Instance {
        pid_t pid = -1;
        bool reaped = false;
        int status = 0;
    };
    std::vector<Instance> instances;
    pid_t ms = -1;

    std::vector<std::string> failures;

    std::atomic<bool> prober_on{false}, prober_stop{false};
    std::mutex latency_mutex;
    std::vector<double> latencies;
    std::atomic<int> healthz_failures{0};
    std::thread prober;

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

    long filler_bytes = 0;

    long fds_base = 0, rss_base = 0, fds_end = 0, rss_end = 0, restarts_phase1 = 0, restarts_phase2 = 0;
    std::vector<std::string> targets_base, targets_end;
    int zombies = -1, children = -1, grandchildren_alive = 0, exit_code = -1;
    size_t old_procs = 0, old_left = 0;
    double all_ready_after_restart = -1, all_ready_at_end = -1, all_ready_at_end_exits = -1;
    std::vector<std::string> leftover_lines;
    double dropped_console = -1, dropped_file = -1;
    std::vector<Proc> old;  // the first instance's processes, recorded before its SIGKILL
    pid_t old_ms = -1;

    std::vector<std::string> disk_full_lines, writing_again, torn;
    std::string disk_note;
    bool finished = false;
    double p50 = 0, p99 = 0, worst = 0;
    size_t samples = 0;
    int healthz_failed = 0;
};

}  // namespace mainstay::bench::soak
