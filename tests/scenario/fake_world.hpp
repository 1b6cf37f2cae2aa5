// A World where time is a number the test advances and processes are records, and an Observer
// that keeps what the supervisor reported.
//
// start_process hands out pids from 1000 and remembers each start; signal_group records the
// signal; set_timer keeps one deadline per index; advance() fires due timers in time order.
// `missing` names executables that "do not exist" (start fails with the runtime's reason).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "resilience/clock.hpp"
#include "supervisor/observer.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/world.hpp"
#include "support/fake_clock.hpp"

namespace mainstay::testing {

using namespace std::chrono_literals;
using supervisor::TimePoint;

class FakeWorld : public supervisor::World {
public:
    struct Start {
        std::string name;
        int pid;
        TimePoint at;
    };
    struct Signal {
        int pgid;
        int signal;
        TimePoint at;
    };

    TimePoint now() const override { return clock.now(); }

    supervisor::StartResult start_process(const config::ServiceSpec& spec) override {
        if (missing.count(spec.command.front())) return {std::nullopt, "executable not found: " + spec.command.front()};
        int pid = next_pid++;
        starts.push_back({spec.name, pid, now()});
        running.insert(pid);
        return {pid, {}};
    }
    supervisor::StartResult start_helper(const config::ServiceSpec& spec, const config::Argv& argv,
                                         std::string_view) override {
        int pid = next_pid++;
        helpers.push_back({spec.name + ":" + argv.front(), pid, now()});
        running.insert(pid);
        return {pid, {}};
    }
    void start_probe(supervisor::Id id, supervisor::ProbeKind kind, const config::ProbeSpec&) override {
        probes_started.push_back({id, kind, now()});
        running_probes.insert({id, kind});
    }
    void cancel_probe(supervisor::Id id, supervisor::ProbeKind kind) override { running_probes.erase({id, kind}); }
    // The running probe `kind` of service `name` answers.
    void probe(supervisor::Supervisor& s, const std::string& name, supervisor::ProbeKind kind, bool ok,
               const std::string& detail = "connect: connection refused") {
        const supervisor::Id id = s.id_of(name);
        REQUIRE(running_probes.erase({id, kind}) == 1);
        s.on_probe_result(id, kind, ok ? resilience::ProbeStatus::success : resilience::ProbeStatus::failure,
                          ok ? "" : detail);
    }
    // The same with any status (a timeout, a permanent failure).
    void probe_status(supervisor::Supervisor& s, const std::string& name, supervisor::ProbeKind kind,
                      resilience::ProbeStatus status, const std::string& detail) {
        const supervisor::Id id = s.id_of(name);
        REQUIRE(running_probes.erase({id, kind}) == 1);
        s.on_probe_result(id, kind, status, detail);
    }
    std::size_t probe_count(supervisor::Id id, supervisor::ProbeKind kind) const {
        return static_cast<std::size_t>(std::count_if(probes_started.begin(), probes_started.end(),
                                                      [&](const auto& p) { return p.id == id && p.kind == kind; }));
    }
    supervisor::StartResult start_command(const std::string& label, const config::Argv&) override {
        int pid = next_pid++;
        helpers.push_back({label, pid, now()});
        running.insert(pid);
        return {pid, {}};
    }
    void signal_group(int pgid, int signal) override { signals.push_back({pgid, signal, now()}); }
    void set_timer(supervisor::Id id, std::optional<TimePoint> when) override {
        ++timer_sets;
        if (when)
            timers[id] = *when;
        else
            timers.erase(id);
    }
    void forget(supervisor::Id id) override {
        timers.erase(id);
        forgotten.push_back(id);
    }
    void shutdown_complete() override { complete = true; }
    void reload() override { ++reloads; }

    // Moves time forward by `d`, firing every timer that falls due on the way, in order.
    void advance(supervisor::Supervisor& s, resilience::Duration d) {
        const TimePoint end = now() + d;
        for (;;) {
            auto next =
                std::min_element(timers.begin(), timers.end(), [](auto& a, auto& b) { return a.second < b.second; });
            if (next == timers.end() || next->second > end) break;
            clock.advance_to(std::max(now(), next->second));
            const supervisor::Id id = next->first;
            timers.erase(next);
            s.on_timer(id);
        }
        clock.advance_to(end);
    }
    // The process `pid` ends with `status`.
    void exit(supervisor::Supervisor& s, int pid, supervisor::ExitStatus status) {
        running.erase(pid);
        s.on_exit(pid, status);
    }
    std::vector<Start> starts_of(const std::string& name) const {
        std::vector<Start> out;
        for (const auto& st : starts) {
            if (st.name == name) out.push_back(st);
        }
        return out;
    }
    int last_pid(const std::string& name) const { return starts_of(name).back().pid; }
    // Whether `sig` was sent to the group of `pid`.
    bool signalled(int pid, int sig) const {
        return std::any_of(signals.begin(), signals.end(),
                           [&](const Signal& s) { return s.pgid == pid && s.signal == sig; });
    }

    FakeClock clock;
    int next_pid{1000};
    std::vector<Start> starts;
    std::vector<Start> helpers;
    struct ProbeStart {
        supervisor::Id id;
        supervisor::ProbeKind kind;
        TimePoint at;
    };
    std::vector<ProbeStart> probes_started;
    std::set<std::pair<supervisor::Id, supervisor::ProbeKind>> running_probes;
    std::set<int> running;
    std::vector<Signal> signals;
    std::map<supervisor::Id, TimePoint> timers;
    std::size_t timer_sets{0};  // set_timer calls, for the cost of an event
    std::vector<supervisor::Id> forgotten;
    int reloads{0};
    std::set<std::string> missing;
    bool complete{false};
};

// What the supervisor reported, kept in lists.
class FakeObserver : public supervisor::Observer {
public:
    void log(config::LogLevel, const std::string& message) override { logs.push_back(message); }
    void record(const supervisor::Transition& t) override { transitions.push_back(t); }
    void startup_ended(const std::string& status) override { startups.push_back(status); }

    std::vector<std::string> logs;
    std::vector<supervisor::Transition> transitions;
    std::vector<std::string> startups;  // the mode line that ended the startup phase
};

}  // namespace mainstay::testing
