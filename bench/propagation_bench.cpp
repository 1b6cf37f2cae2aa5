// The supervisor's own cost per event, with no processes and no I/O: a World that only counts.
// Three shapes:
//   chain:   100 services, each depending on the one before; the startup is 100 "ready" events
//            in a row, each starting the next service.
//   fan-out: one service with 1000 dependents; its "ready" event starts all 1000.
//   flap:    1000 independent services, one of which crashes and is restarted again and again
//            (no backoff): the cost of an event that concerns one service among many.
// Prints the time per event (median of several runs). Usage: propagation_bench [RUNS=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "supervisor/supervisor.hpp"

using namespace mainstay;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Time moves only when told; timers are kept in a map and fired in order by advance().
// The supervisor's reports go nowhere: only its decisions are measured.
class Silent final : public supervisor::Observer {
public:
    void log(config::LogLevel, const std::string&) override {}
    void record(const supervisor::Transition&) override {}
    void startup_ended(const std::string&) override {}
};

class CountingWorld final : public supervisor::World {
public:
    supervisor::TimePoint now() const override { return now_; }
    supervisor::StartResult start_process(const config::ServiceSpec&) override { return {next_pid_++, {}}; }
    supervisor::StartResult start_helper(const config::ServiceSpec&, const config::Argv&, std::string_view) override {
        return {next_pid_++, {}};
    }
    void start_probe(supervisor::Id, supervisor::ProbeKind, const config::ProbeSpec&) override {}
    void cancel_probe(supervisor::Id, supervisor::ProbeKind) override {}
    supervisor::StartResult start_command(const std::string&, const config::Argv&) override {
        return {next_pid_++, {}};
    }
    void signal_group(int, int) override {}
    void set_timer(supervisor::Id id, std::optional<supervisor::TimePoint> when) override {
        if (when)
            timers_[id] = *when;
        else
            timers_.erase(id);
    }
    void shutdown_complete() override {}

    // Fires every timer due by now + d, in time order; returns how many fired.
    std::size_t advance(supervisor::Supervisor& s, resilience::Duration d) {
        const auto end = now_ + d;
        std::size_t fired = 0;
        for (;;) {
            auto next =
                std::min_element(timers_.begin(), timers_.end(), [](auto& a, auto& b) { return a.second < b.second; });
            if (next == timers_.end() || next->second > end) break;
            now_ = std::max(now_, next->second);
            const auto id = next->first;
            timers_.erase(next);
            s.on_timer(id);
            ++fired;
        }
        now_ = end;
        return fired;
    }

private:
    supervisor::TimePoint now_{};
    int next_pid_{1000};
    std::map<supervisor::Id, supervisor::TimePoint> timers_;
};

config::ServiceSpec service(const std::string& name, std::vector<std::string> deps) {
    config::ServiceSpec s;
    s.name = name;
    s.command = {name};
    for (auto& d : deps) s.depends_on.push_back({std::move(d), config::Condition::healthy, true, {}});
    s.ready_after = 1ms;
    s.restart.backoff = {0ms, 0ms, 1.0, resilience::Jitter::none};
    s.restart.circuit_breaker.failure_threshold = 1000000;
    return s;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// ns per event of the chain's startup.
double chain(std::size_t n) {
    config::Config config;
    for (std::size_t i = 0; i < n; ++i) {
        config.services.push_back(
            service("s" + std::to_string(i),
                    i == 0 ? std::vector<std::string>{} : std::vector<std::string>{"s" + std::to_string(i - 1)}));
    }
    CountingWorld world;
    Silent silent;
    supervisor::Supervisor sup(config, world, silent, 1);
    const auto t0 = Clock::now();
    sup.start();
    std::size_t events = 0;
    while (sup.mode() == supervisor::Mode::starting && events < 10 * n) events += world.advance(sup, 1ms);
    const auto t1 = Clock::now();
    if (sup.mode() != supervisor::Mode::full) std::fprintf(stderr, "chain: not full\n");
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
}

// ns of the one event that makes the root ready and starts its n dependents.
double fan_out(std::size_t n) {
    config::Config config;
    config.services.push_back(service("root", {}));
    for (std::size_t i = 0; i < n; ++i) config.services.push_back(service("d" + std::to_string(i), {"root"}));
    CountingWorld world;
    Silent silent;
    supervisor::Supervisor sup(config, world, silent, 1);
    sup.start();
    const auto t0 = Clock::now();
    world.advance(sup, 1ms);  // root ready: the n dependents start
    const auto t1 = Clock::now();
    if (sup.find("d0")->state() != supervisor::State::running)
        std::fprintf(stderr, "fan-out: dependents not started\n");
    return std::chrono::duration<double, std::nano>(t1 - t0).count();
}

// ns per exit event of one service among n (crash, restarted at once).
double flap(std::size_t n, int rounds) {
    config::Config config;
    for (std::size_t i = 0; i < n; ++i) config.services.push_back(service("s" + std::to_string(i), {}));
    CountingWorld world;
    Silent silent;
    supervisor::Supervisor sup(config, world, silent, 1);
    sup.start();
    world.advance(sup, 10ms);  // all ready
    const supervisor::Service& victim = *sup.find("s0");
    const auto t0 = Clock::now();
    for (int r = 0; r < rounds; ++r) sup.on_exit(*victim.pid(), supervisor::ExitStatus::exited(1));
    const auto t1 = Clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / rounds;
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
    std::vector<double> c, f, fl;
    for (int r = 0; r < runs; ++r) {
        c.push_back(chain(100));
        f.push_back(fan_out(1000));
        fl.push_back(flap(1000, 2000));
    }
    std::printf("propagation (supervisor only, no I/O; median of %d runs)\n", runs);
    std::printf("  %-44s %10.1f us\n", "chain of 100: per ready event", median(c) / 1000.0);
    std::printf("  %-44s %10.1f us  (%.2f us per dependent)\n", "fan-out of 1000: the event starting them all",
                median(f) / 1000.0, median(f) / 1000.0 / 1000.0);
    std::printf("  %-44s %10.1f us\n", "1000 services, one crashing: per exit event", median(fl) / 1000.0);
    return 0;
}
