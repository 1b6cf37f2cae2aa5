// What the scenario stories share: a service spec with quick test defaults, a probe, a Story
// (configuration, fake world, supervisor started at once) and its wind-down check.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fake_world.hpp"

namespace mainstay::testing {

using namespace std::chrono_literals;

inline config::ServiceSpec svc(std::string name, std::vector<config::Dependency> deps = {}) {
    config::ServiceSpec s;
    s.name = name;
    s.command = {name};
    s.depends_on = std::move(deps);
    s.ready_after = 1s;
    s.restart.backoff = {100ms, 10s, 2.0, resilience::Jitter::none};
    s.restart.circuit_breaker.failure_threshold = 100;
    return s;
}

inline config::Dependency dep(std::string name, bool required = true,
                              config::Condition c = config::Condition::healthy) {
    return {std::move(name), c, required, {}};
}

inline config::ProbeSpec tcp_probe(std::uint32_t failure_threshold = 3, resilience::Duration interval = 10s) {
    config::ProbeSpec p;
    p.handler = config::TcpProbe{{"127.0.0.1", 80}};
    p.interval = interval;
    p.thresholds.failure_threshold = failure_threshold;
    return p;
}

inline bool logged(const FakeObserver& w, const std::string& text) {
    return std::any_of(w.logs.begin(), w.logs.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

struct Story {
    config::Config config;
    FakeWorld world;
    FakeObserver seen;  // what the supervisor reported
    std::unique_ptr<supervisor::Supervisor> sup;

    // `missing`: executables that do not exist from the start (FakeWorld::missing).
    // `main` adjusts the main configuration before the supervisor is made (it keeps a copy).
    explicit Story(std::vector<config::ServiceSpec> services, std::vector<config::CapabilitySpec> capabilities = {},
                   std::set<std::string> missing = {}, const std::function<void(config::MainConfig&)>& main = {}) {
        if (main) main(config.main);
        config.services = std::move(services);
        config.capabilities = std::move(capabilities);
        world.missing = std::move(missing);
        sup = std::make_unique<supervisor::Supervisor>(config, world, seen, 42);
        sup->start();
    }
    const supervisor::Service& s(std::string_view name) { return *sup->find(name); }
    supervisor::Id id(std::string_view name) const { return sup->id_of(name); }
    void advance(resilience::Duration d) { world.advance(*sup, d); }
    void exit(std::string_view name, supervisor::ExitStatus st) { world.exit(*sup, *s(name).pid(), st); }
    std::size_t timers() const { return world.timers.size(); }

    // Shuts down, lets every process still alive exit, and checks that nothing is left armed:
    // no timer, no probe, no child.
    void wind_down() {
        sup->shutdown();
        for (int round = 0; round < 10 && !world.running.empty(); ++round) {
            std::set<int> alive = world.running;
            for (int pid : alive) world.exit(*sup, pid, supervisor::ExitStatus::killed(SIGTERM));
        }
        CHECK(world.complete);
        CHECK(world.running.empty());
        CHECK(world.running_probes.empty());
        CHECK(timers() == 0);
    }
};

}  // namespace mainstay::testing
