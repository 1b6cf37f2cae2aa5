// What the files of bench/compare share: the clock and the interrupt flag, /proc readers, start
// files, the supervisors and how each is launched, the rows of results and their output.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/proc_stats.hpp"

namespace mainstay::bench::compare {

namespace fs = std::filesystem;

// Set by main's SIGINT and SIGTERM handler.
extern volatile sig_atomic_t g_interrupted;

long long now_ns();
void sleep_ms(long ms);

struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("interrupted") {}
};

void check_interrupt();

// ---- /proc -----------------------------------------------------------------------------------

using Stat = mainstay::runtime::proc::Stat;
using mainstay::testing::stat_of;
std::vector<int> children_of(int parent);
long status_kib(int pid, const char* file, const char* key);
// CPU time in ns: /proc/PID/schedstat (ns resolution), else utime+stime in clock ticks.
long long cpu_ns(int pid);

// ---- start files -----------------------------------------------------------------------------

struct Start {
    int pid;
    long long at;
};

// The lines services appended to one file, read incrementally.
class StartFile {
public:
    explicit StartFile(fs::path path) : path_(std::move(path)) { fs::remove(path_); }
    const fs::path& path() const { return path_; }
    const std::vector<Start>& starts() {
        read_new();
        return starts_;
    }
    std::size_t count() { return starts().size(); }

    // Waits until there are at least `n` lines; false after `timeout_s`.
    bool wait_for(std::size_t n, double timeout_s);

private:
    void read_new();

    fs::path path_;
    off_t offset_ = 0;
    std::string partial_;
    std::vector<Start> starts_;
};

// ---- the supervisors ---------------------------------------------------------------------------

enum class Kind { floor, mainstay, mainstay_nocg, supervisord, runit };
inline constexpr int kKinds = 5;
inline constexpr const char* kNames[kKinds] = {"floor", "mainstay", "mainstay-nocg", "supervisord", "runit"};
// The column headers: mainstay contained (the default) and not.
inline constexpr const char* kColumns[kKinds] = {"floor", "mainstay", "mainstay, no cgroup", "supervisord", "runit"};
bool is_mainstay(Kind k);

struct Tools {
    std::string mainstay, stamp, service, floor, supervisord, runsvdir;  // service: test-service
};

// One service of a run: a command line (argv) for the service program.
using Command = std::vector<std::string>;

// A started supervisor: its pid (leader of a process group of its own) and a thread draining its
// output, noting when a given text first appears in it.
class Running {
public:
    Running(Kind kind, std::vector<std::string> argv, const fs::path& cwd, std::string watch = {});
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;
    ~Running() { stop(); }

    int pid() const { return pid_; }
    long long started_at() const { return started_at_; }
    std::string tail() {
        std::lock_guard lock(tail_mutex_);
        return tail_;
    }
    long long watched_at() const { return watched_at_; }

    // The processes that make up the supervisor: itself, and for runit every runsv.
    std::vector<int> parts() const;

    // True when `pid` is a live service process of this supervisor.
    bool owns(int pid) const;

    // Stops it by its pid and waits for it (SIGKILL to its group after 180 s). Returns the time
    // from the signal to its end in ms (NAN when it was stopped before).
    double stop();

    // Every process that came back to this subreaper: given 10 s to end, then SIGKILLed.
    static void reap_orphans();

private:
    Kind kind_;
    std::string watch_;
    int pid_ = -1;
    bool stopped_ = false;
    long long started_at_ = 0;
    std::atomic<long long> watched_at_{-1};
    std::thread drain_;
    std::mutex tail_mutex_;
    std::string tail_;
};

// Writes the configuration of `kind` for `services` into `dir` and starts it.
std::unique_ptr<Running> launch(Kind kind, const Tools& t, const fs::path& dir, const std::vector<Command>& services,
                                const std::string& mainstay_extra = {}, const std::string& watch = {});

// ---- statistics and results ---------------------------------------------------------------------

double percentile(std::vector<double> v, double p);

struct Row {
    std::string id, measure, unit;
    double value[kKinds] = {NAN, NAN, NAN, NAN, NAN};  // by Kind; NAN: n/a or not run
    std::string note[kKinds];                          // why n/a
    std::string goal;                                  // e.g. "<= 1.5x floor"
    std::function<std::optional<bool>(const Row&)> met;
};

// What the command line asks for (main), also written into the JSON results.
struct Options {
    int rounds = 50, idle_seconds = 10, probe_seconds = 20, events = 20, chain_runs = 5, small = 200, big = 1000;
    int huge = 10000;
    bool run[kKinds] = {true, true, true, true, true};
    std::string json, svg, markdown;
};

// ---- output -------------------------------------------------------------------------------------

void print_table(const std::vector<Row>& rows, FILE* out, bool markdown);
void write_json(const std::vector<Row>& rows, const Options& o, const std::string& file);
// A horizontal bar chart, one panel per measure, bars scaled to the panel's largest value.
void write_svg(const std::vector<Row>& rows, const std::string& file);

}  // namespace mainstay::bench::compare
