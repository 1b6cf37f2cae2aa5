// mainstay beside its peers: one table, every figure measured in the same run for a bare C floor
// (bench/floor.cpp), mainstay with containment on (the default: each service in a cgroup of its
// own, where cgroup v2 is writable), mainstay with it off (MAINSTAY_NO_CGROUP=1: process groups),
// supervisord and runit (runsvdir + one runsv per service), on the
// same service programs: bench/stamp (a static C program that stamps its start and waits, or
// listens) for the start, restart, scale and chain rows, tests/test-service for the probe row.
// A heavy service program would hide the supervisor's own cost behind its exec.
//
//   compare --mainstay PATH --service PATH --test-service PATH --floor PATH [options]
//     --rounds N         restart reaction rounds (default 50)
//     --idle-seconds S   idle CPU window at 1000 services (default 10)
//     --probe-seconds S  CPU window with 100 probed services (default 20)
//     --events N         SIGKILLs among 1000 running services (default 20)
//     --chain-runs N     runs of the chain of 10 (default 5)
//     --small N --big N  the two numbers of services (default 200 and 1000; the idle figures and
//                        the SIGKILLs among running services are taken with the big one)
//     --huge N           the scale rows (default 10000; 0: none): launch, RSS, descriptors, a
//                        SIGKILL among them, stop all; floor and mainstay only
//     --only LIST        comma-separated subset of floor,mainstay,mainstay-nocg,supervisord,runit
//     --json FILE  --svg FILE  --markdown FILE   where the results also go
//
// How each figure is taken (the same way for every supervisor):
//   * every service appends "<pid> <CLOCK_MONOTONIC ns>" to a start file when it execs
//     (stamp --start-file), so a time is read off the service itself, not off a poll;
//   * a supervisor is started with fork+exec in a process group of its own; its stdout and
//     stderr are drained by a thread; it is stopped by its own pid at the end (SIGTERM; runsvdir
//     SIGHUP, which sends SIGTERM to every runsv), then every process left is reaped: this
//     program is a child subreaper, so what the supervisor leaves behind comes back to it and is
//     killed (only pids /proc shows as its own children);
//   * a SIGKILL only goes to a pid read from the start file while /proc says that its parent is
//     the supervisor started here (for runit: a runsv child of the runsvdir started here).
#include "compare.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/free_port.hpp"
#include "support/proc_stats.hpp"
#include "support/signal_guard.hpp"

namespace mainstay::bench::compare {
namespace {

using mainstay::testing::descriptors;
using mainstay::testing::free_port;
using mainstay::testing::signal_process;

// ---- the measures -------------------------------------------------------------------------------

Command start_service(const Tools& t, const fs::path& start_file) {
    return {t.stamp, "--start-file", start_file.string()};
}

// Restart reaction: SIGKILL the newest process as soon as it has started; the time to the next
// start line. Returns the reactions in ms.
std::vector<double> restart_reaction(Kind kind, const Tools& t, const fs::path& dir, int rounds) {
    StartFile starts(dir / "starts");
    auto sup = launch(kind, t, dir / "run", {start_service(t, starts.path())});
    std::vector<double> out;
    if (!starts.wait_for(1, 30)) throw std::runtime_error("the service never started");
    for (int i = 0; i < rounds; ++i) {
        const Start last = starts.starts().back();
        const std::size_t before = starts.count();
        // The start line is written right after exec, before the supervisor may have noticed the
        // new child: wait until /proc shows it as the supervisor's.
        const long long deadline = now_ns() + 10'000'000'000LL;
        while (!sup->owns(last.pid)) {
            check_interrupt();
            if (now_ns() > deadline)
                throw std::runtime_error("pid " + std::to_string(last.pid) + " is not the supervisor's child");
            sleep_ms(1);
        }
        const long long t0 = now_ns();
        signal_process(last.pid, SIGKILL);
        if (!starts.wait_for(before + 1, 30)) throw std::runtime_error("no restart within 30 s");
        out.push_back(static_cast<double>(starts.starts()[before].at - t0) / 1e6);
    }
    return out;
}

struct Launch {
    double all_started_ms = NAN;
    double rss_mb = NAN, pss_mb = NAN, fds = NAN, idle_cpu = NAN;
    std::vector<double> events;
    double stop_ms = NAN;  // SIGTERM to the supervisor -> it has ended, every service stopped
};

// N services: launch -> all started; with `idle` also RSS/PSS/fds/idle CPU once settled and the
// reaction to `events` SIGKILLs of distinct services, each up for a while.
Launch launch_all(Kind kind, const Tools& t, const fs::path& dir, int n, bool idle, const Options& o) {
    StartFile starts(dir / "starts");
    std::vector<Command> services(static_cast<std::size_t>(n), start_service(t, starts.path()));
    auto sup = launch(kind, t, dir / "run", services);
    Launch r;
    if (!starts.wait_for(static_cast<std::size_t>(n), 600)) {
        throw std::runtime_error(std::to_string(starts.count()) + " of " + std::to_string(n) +
                                 " services started within 600 s");
    }
    long long last = 0;
    for (const auto& s : starts.starts()) last = std::max(last, s.at);
    r.all_started_ms = static_cast<double>(last - sup->started_at()) / 1e6;
    if (!idle) return r;

    sleep_ms(2000);  // settle: logs written, start-up work done
    if (starts.count() != static_cast<std::size_t>(n)) throw std::runtime_error("services restarted while idle");
    const auto parts = sup->parts();
    long long cpu0 = 0;
    for (int p : parts) cpu0 += cpu_ns(p);
    const long long w0 = now_ns();
    for (int s = 0; s < o.idle_seconds * 10; ++s) {
        check_interrupt();
        sleep_ms(100);
    }
    // Memory and descriptors at the end of the idle window, when the start-up's allocations are
    // given back (mainstay trims its heap a second after its startup phase): 2 s after the last
    // start, a quick start is measured before that.
    long rss = 0, pss = 0, fds = 0;
    long long cpu1 = 0;
    for (int p : parts) {
        rss += status_kib(p, "status", "VmRSS:");
        pss += status_kib(p, "smaps_rollup", "Pss:");
        fds += descriptors(p);
        cpu1 += cpu_ns(p);
    }
    r.rss_mb = static_cast<double>(rss) / 1024.0;
    r.pss_mb = static_cast<double>(pss) / 1024.0;
    r.fds = static_cast<double>(fds);
    r.idle_cpu = 100.0 * static_cast<double>(cpu1 - cpu0) / static_cast<double>(now_ns() - w0);

    // One SIGKILL at a time among the n running services, each a different one, up since launch.
    const auto first = starts.starts();
    for (int e = 0; e < o.events && e < n; ++e) {
        const int victim = first[static_cast<std::size_t>(e)].pid;
        if (!sup->owns(victim))
            throw std::runtime_error("pid " + std::to_string(victim) + " is not the supervisor's child");
        const std::size_t before = starts.count();
        const long long t0 = now_ns();
        signal_process(victim, SIGKILL);
        if (!starts.wait_for(before + 1, 30)) throw std::runtime_error("no restart within 30 s");
        r.events.push_back(static_cast<double>(starts.starts()[before].at - t0) / 1e6);
        sleep_ms(20);
    }
    r.stop_ms = sup->stop();
    return r;
}

// A chain of 10 services, each ready when its TCP port listens and depending on the previous one:
// start -> every one ready (mainstay: its "mode: full" line; floor: its "all ready" line).
std::vector<double> chain(Kind kind, const Tools& t, const fs::path& dir, int runs) {
    std::vector<double> out;
    for (int r = 0; r < runs; ++r) {
        std::vector<int> ports;
        for (int i = 0; i < 10; ++i) ports.push_back(free_port());
        std::unique_ptr<Running> sup;
        if (kind == Kind::floor) {
            std::vector<std::string> argv{t.floor, "chain", "10", t.stamp};
            for (int p : ports) argv.push_back(std::to_string(p));
            fs::remove_all(dir / "run");
            fs::create_directories(dir / "run");
            sup = std::make_unique<Running>(kind, argv, dir / "run", "all ready");
        } else {
            fs::remove_all(dir / "run");
            fs::create_directories(dir / "run/services.d");
            std::ofstream(dir / "run/mainstay.yaml")
                << "services_dir: services.d\nstatus: {socket: run/control.sock}\n";
            for (int i = 0; i < 10; ++i) {
                std::ofstream f(dir / "run/services.d" / ("s" + std::to_string(i) + ".yaml"));
                f << "command: [\"" << t.stamp << "\", --listen, \"" << ports[static_cast<std::size_t>(i)] << "\"]\n"
                  << "probes: {readiness: {tcp: \"127.0.0.1:" << ports[static_cast<std::size_t>(i)]
                  << "\", startup_interval: 10ms}}\n";
                if (i > 0) f << "depends_on: [s" << i - 1 << "]\n";
            }
            sup = std::make_unique<Running>(
                kind, std::vector<std::string>{t.mainstay, "run", "-c", (dir / "run/mainstay.yaml").string()},
                dir / "run", "mode: full");
        }
        const long long deadline = now_ns() + 30'000'000'000LL;
        while (sup->watched_at() < 0) {
            check_interrupt();
            if (now_ns() > deadline) throw std::runtime_error("the chain was not ready within 30 s");
            sleep_ms(1);
        }
        out.push_back(static_cast<double>(sup->watched_at() - sup->started_at()) / 1e6);
        sup->stop();
    }
    return out;
}

// CPU of the supervisor while 100 listening services are probed (tcp) every second.
double probe_cpu(Kind kind, const Tools& t, const fs::path& dir, int seconds) {
    std::vector<int> ports;
    for (int i = 0; i < 100; ++i) ports.push_back(free_port());
    std::unique_ptr<Running> sup;
    fs::remove_all(dir / "run");
    fs::create_directories(dir / "run/services.d");
    if (kind == Kind::floor) {
        std::vector<std::string> argv{t.floor, "probe", t.service};
        for (int p : ports) argv.push_back(std::to_string(p));
        sup = std::make_unique<Running>(kind, argv, dir / "run");
    } else {
        std::ofstream(dir / "run/mainstay.yaml") << "services_dir: services.d\nstatus: {socket: run/control.sock}\n";
        for (int i = 0; i < 100; ++i) {
            std::ofstream f(dir / "run/services.d" / ("s" + std::to_string(i) + ".yaml"));
            f << "command: [\"" << t.service << "\", --listen, \"" << ports[static_cast<std::size_t>(i)] << "\"]\n"
              << "probes: {readiness: {tcp: \"127.0.0.1:" << ports[static_cast<std::size_t>(i)]
              << "\", interval: 1s}}\n";
        }
        sup = std::make_unique<Running>(
            kind, std::vector<std::string>{t.mainstay, "run", "-c", (dir / "run/mainstay.yaml").string()}, dir / "run",
            "mode: full");
    }
    // Settle: every service listening (mainstay: every one ready), then 3 s more.
    const long long deadline = now_ns() + 60'000'000'000LL;
    while (is_mainstay(kind) && sup->watched_at() < 0) {
        check_interrupt();
        if (now_ns() > deadline) {
            throw std::runtime_error("not every probed service was ready within 60 s; mainstay's last output:\n" +
                                     sup->tail());
        }
        sleep_ms(10);
    }
    sleep_ms(3000);
    const long long c0 = cpu_ns(sup->pid()), w0 = now_ns();
    for (int s = 0; s < seconds * 10; ++s) {
        check_interrupt();
        sleep_ms(100);
    }
    const long long c1 = cpu_ns(sup->pid());
    return 100.0 * static_cast<double>(c1 - c0) / static_cast<double>(now_ns() - w0);
}

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: compare --mainstay PATH --service PATH --test-service PATH --floor PATH [--rounds N] "
                 "[--idle-seconds S]\n"
                 "               [--probe-seconds S] [--events N] [--chain-runs N] [--small N] [--big N] [--huge N]\n"
                 "               [--only floor,mainstay,mainstay-nocg,supervisord,runit]\n"
                 "               [--json FILE] [--svg FILE] [--markdown FILE]\n");
    std::exit(64);
}

std::string which(const char* name) {
    for (const char* dir : {"/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"}) {
        const std::string p = std::string(dir) + "/" + name;
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return {};
}

}  // namespace
}  // namespace mainstay::bench::compare

using namespace mainstay::bench::compare;

int main(int argc, char** argv) {
    Tools t;
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) usage();
        const std::string v = argv[++i];
        if (a == "--mainstay")
            t.mainstay = fs::absolute(v).string();
        else if (a == "--test-service")
            t.service = fs::absolute(v).string();
        else if (a == "--service")
            t.stamp = fs::absolute(v).string();
        else if (a == "--floor")
            t.floor = fs::absolute(v).string();
        else if (a == "--rounds")
            o.rounds = std::max(1, std::atoi(v.c_str()));
        else if (a == "--idle-seconds")
            o.idle_seconds = std::max(1, std::atoi(v.c_str()));
        else if (a == "--probe-seconds")
            o.probe_seconds = std::max(1, std::atoi(v.c_str()));
        else if (a == "--events")
            o.events = std::max(1, std::atoi(v.c_str()));
        else if (a == "--chain-runs")
            o.chain_runs = std::max(1, std::atoi(v.c_str()));
        else if (a == "--small")
            o.small = std::max(1, std::atoi(v.c_str()));
        else if (a == "--big")
            o.big = std::max(1, std::atoi(v.c_str()));
        else if (a == "--huge")
            o.huge = std::clamp(std::atoi(v.c_str()), 0, 20000);
        else if (a == "--json")
            o.json = v;
        else if (a == "--svg")
            o.svg = v;
        else if (a == "--markdown")
            o.markdown = v;
        else if (a == "--only") {
            for (auto& r : o.run) r = false;
            std::stringstream list(v);
            for (std::string name; std::getline(list, name, ',');) {
                bool known = false;
                for (int k = 0; k < kKinds; ++k) {
                    if (name == kNames[k]) o.run[k] = known = true;
                }
                if (!known) usage();
            }
        } else {
            usage();
        }
    }
    if (t.mainstay.empty() || t.stamp.empty() || t.service.empty() || t.floor.empty()) usage();
    t.supervisord = which("supervisord");
    t.runsvdir = which("runsvdir");
    std::string missing[kKinds];
    if (t.supervisord.empty()) missing[int(Kind::supervisord)] = "supervisord not installed";
    if (t.runsvdir.empty()) missing[int(Kind::runit)] = "runsvdir not installed";

    // Whatever a supervisor leaves behind comes back here, and is reaped (and killed) here.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct sigaction sa {};
    sa.sa_handler = [](int) { g_interrupted = 1; };
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    char tmpl[] = "/tmp/mainstay-compare-XXXXXX";
    if (!::mkdtemp(tmpl)) return 1;
    const fs::path dir = tmpl;
    ::chmod(dir.c_str(), 0755);

    std::vector<Row> rows;
    auto row = [&](std::string id, std::string measure, std::string unit, std::string goal = {},
                   std::function<std::optional<bool>(const Row&)> met = {}) -> Row& {
        rows.push_back(Row{std::move(id),
                           std::move(measure),
                           std::move(unit),
                           {NAN, NAN, NAN, NAN, NAN},
                           {},
                           std::move(goal),
                           std::move(met)});
        return rows.back();
    };
    auto within = [](double factor) {
        return [factor](const Row& r) -> std::optional<bool> {
            const double f = r.value[0], m = r.value[1];
            if (std::isnan(f) || std::isnan(m)) return std::nullopt;
            return m <= factor * f;
        };
    };
    auto at_most = [](double limit) {
        return [limit](const Row& r) -> std::optional<bool> {
            if (std::isnan(r.value[1])) return std::nullopt;
            return r.value[1] <= limit;
        };
    };
    std::string rounds_label = "restart reaction, median of " + std::to_string(o.rounds);
    rows.reserve(24);
    Row& restart_median = row("restart_median", rounds_label, "ms", "<= 1.1x floor", within(1.1));
    Row& restart_p99 = row("restart_p99", "restart reaction, p99", "ms", "<= 2x floor", within(2));
    const std::string small = std::to_string(o.small), big = std::to_string(o.big), huge = std::to_string(o.huge);
    Row& launch200 = row("launch_small", "launch -> all started, " + small + " services", "ms");
    Row& launch1000 =
        row("launch_big", "launch -> all started, " + big + " services", "ms", "<= 1.2x floor", within(1.2));
    Row& rss = row("rss_big", "RSS at " + big + " services", "MB", "<= 10 MB", at_most(10));
    Row& pss = row("pss_big", "PSS at " + big + " services", "MB");
    Row& fds = row("fds_big", "open descriptors at " + big + " services", "count");
    Row& idle = row("idle_cpu_big", "idle CPU at " + big + " services", "%", "<= 0.1 %", at_most(0.1));
    Row& event = row("event_big", "SIGKILL -> next exec among " + big + ", median", "ms");
    Row& stop1000 = row("stop_big", "stop all " + big + " services", "ms");
    Row& chain10 = row("chain_10", "chain of 10 dependent services -> all ready", "ms", "<= 100 ms", at_most(100));
    Row& probes = row("probe_cpu_100", "CPU, 100 services probed every second", "%");
    // The scale rows: floor and mainstay only (supervisord and runit take minutes at 1000).
    Row* launch_huge = nullptr;
    Row *rss_huge = nullptr, *fds_huge = nullptr, *event_huge = nullptr, *stop_huge = nullptr;
    if (o.huge > 0) {
        const double per_service = 1.05 * o.huge + 50;  // about one descriptor per service
        launch_huge =
            &row("launch_huge", "launch -> all started, " + huge + " services", "ms", "<= 1.3x floor", within(1.3));
        rss_huge = &row("rss_huge", "RSS at " + huge + " services", "MB", "<= 60 MB", at_most(60));
        fds_huge = &row("fds_huge", "open descriptors at " + huge + " services", "count", "about 1 per service",
                        at_most(per_service));
        event_huge = &row("event_huge", "SIGKILL -> next exec among " + huge + ", median", "ms");
        stop_huge = &row("stop_huge", "stop all " + huge + " services", "ms");
    }

    bool failed = false;
    auto attempt = [&](Kind k, const char* what, const std::function<void()>& f) {
        if (!o.run[int(k)] || !missing[int(k)].empty()) return;
        std::fprintf(stderr, "  %-12s %s ...\n", kNames[int(k)], what);
        try {
            f();
        } catch (const Interrupted&) {
            throw;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "  %-12s %s FAILED: %s\n", kNames[int(k)], what, e.what());
            failed = true;
        }
        Running::reap_orphans();
    };

    const Kind all[] = {Kind::floor, Kind::mainstay, Kind::mainstay_nocg, Kind::supervisord, Kind::runit};
    try {
        for (Kind k : all) {
            const int i = int(k);
            attempt(k, "restart reaction", [&] {
                auto v = restart_reaction(k, t, dir / kNames[i], o.rounds);
                restart_median.value[i] = percentile(v, 0.5);
                restart_p99.value[i] = percentile(v, 0.99);
            });
        }
        for (Kind k : all) {
            const int i = int(k);
            attempt(k, (small + " services").c_str(),
                    [&] { launch200.value[i] = launch_all(k, t, dir / kNames[i], o.small, false, o).all_started_ms; });
        }
        for (Kind k : all) {
            const int i = int(k);
            attempt(k, (big + " services").c_str(), [&] {
                auto r = launch_all(k, t, dir / kNames[i], o.big, true, o);
                launch1000.value[i] = r.all_started_ms;
                rss.value[i] = r.rss_mb;
                pss.value[i] = r.pss_mb;
                fds.value[i] = r.fds;
                idle.value[i] = r.idle_cpu;
                event.value[i] = percentile(r.events, 0.5);
                stop1000.value[i] = r.stop_ms;
            });
        }
        for (Kind k : {Kind::floor, Kind::mainstay, Kind::mainstay_nocg}) {
            if (o.huge == 0) break;
            const int i = int(k);
            attempt(k, (huge + " services").c_str(), [&] {
                auto r = launch_all(k, t, dir / kNames[i], o.huge, true, o);
                launch_huge->value[i] = r.all_started_ms;
                rss_huge->value[i] = r.rss_mb;
                fds_huge->value[i] = r.fds;
                event_huge->value[i] = percentile(r.events, 0.5);
                stop_huge->value[i] = r.stop_ms;
            });
        }
        for (Kind k : {Kind::floor, Kind::mainstay, Kind::mainstay_nocg}) {
            const int i = int(k);
            attempt(k, "chain of 10",
                    [&] { chain10.value[i] = percentile(chain(k, t, dir / kNames[i], o.chain_runs), 0.5); });
            attempt(k, "100 probed services",
                    [&] { probes.value[i] = probe_cpu(k, t, dir / kNames[i], o.probe_seconds); });
        }
    } catch (const Interrupted&) {
        std::fprintf(stderr, "interrupted: stopping what runs\n");
        Running::reap_orphans();
        std::error_code ec;
        fs::remove_all(dir, ec);
        return 130;
    }
    std::error_code ec;
    fs::remove_all(dir, ec);

    for (Row* r : {&chain10, &probes}) {
        r->note[int(Kind::supervisord)] = "no dependencies or probes";
        r->note[int(Kind::runit)] = "no dependencies or probes";
    }
    for (Row* r : {launch_huge, rss_huge, fds_huge, event_huge, stop_huge}) {
        if (r == nullptr) continue;
        r->note[int(Kind::supervisord)] = "not run at this scale";
        r->note[int(Kind::runit)] = "not run at this scale";
    }
    std::printf("\n");
    print_table(rows, stdout, false);
    for (int k = 0; k < kKinds; ++k) {
        if (!missing[k].empty()) std::printf("%s: n/a (%s)\n", kNames[k], missing[k].c_str());
    }
    std::printf(
        "supervisord and runit: n/a for the chain and the probes (they have no dependencies and no health probes)%s\n",
        o.huge > 0 ? ", not run at the scale rows" : "");
    if (!o.json.empty()) write_json(rows, o, o.json);
    if (!o.svg.empty()) write_svg(rows, o.svg);
    if (!o.markdown.empty()) {
        FILE* md = std::fopen(o.markdown.c_str(), "w");
        if (md) {
            print_table(rows, md, true);
            std::fclose(md);
        }
    }
    return failed ? 1 : 0;
}
