// What the report tests share: a fixed (steady, wall) clock pair and a status model like SPEC
// §5's example (docker recovering behind an open breaker, app blocked on it, web ready, a
// degraded capability).
#pragma once

#include <chrono>

#include "report/format.hpp"
#include "supervisor/status_model.hpp"

namespace mainstay::testing {

using namespace std::chrono_literals;

// 2026-11-23 08:00:03.123 UTC, read together with the steady time kSteadyNow.
inline const report::WallTime kWallNow =
    report::WallTime{std::chrono::sys_days{std::chrono::year{2026} / 11 / 23}} + 8h + 3s + 123ms;
inline const resilience::TimePoint kSteadyNow = resilience::TimePoint{} + 10h;

inline supervisor::StatusModel sample_model() {
    using namespace supervisor;
    StatusModel m;
    m.mode = Mode::degraded;
    m.mode_since = kSteadyNow - 2s;  // 08:00:01.123
    m.startup_done = true;
    m.startup_duration = 812ms;

    ServiceStatus docker;
    docker.name = "docker";
    docker.state = State::recovering;
    docker.restarts = 3;
    docker.attempts = 4;
    docker.breaker = "open";
    docker.breaker_next_trial_in = 20s;
    docker.breaker_figures = {"restart", 5, 5, 12, 9, 3, kSteadyNow - 63s, kSteadyNow - 2023ms};
    docker.next_attempt_in = 8s;
    docker.last_exit = ExitStatus::exited(1);
    docker.reason = "readiness probe failed: connect: connection refused";
    docker.since = kSteadyNow - 2023ms;  // 08:00:01.100
    docker.probes.push_back({ProbeKind::readiness, resilience::HealthState::unhealthy, 250ms, 3});

    ServiceStatus app;
    app.name = "app";
    app.state = State::blocked;
    app.breaker = "closed";
    app.reason = "docker is recovering";
    app.blocked_by = {"docker"};
    app.depends_on = {{"docker", true}, {"cache", false}};
    app.since = kSteadyNow - 1s;

    ServiceStatus web;
    web.name = "web";
    web.kind = config::Kind::process;
    web.state = State::ready;
    web.ready = true;
    web.pid = 4242;
    web.restarts = 1;
    web.breaker = "closed";
    web.last_exit = ExitStatus::killed(9);
    web.since = kSteadyNow - 1s;

    m.services = {docker, app, web};
    m.capabilities.push_back({"local-llm",
                              resilience::CapabilityState::degraded,
                              kSteadyNow - 1s,
                              "docker is recovering",
                              {"docker"},
                              "",
                              std::nullopt,
                              {"full"},
                              false,
                              std::nullopt,
                              {{"full", "docker is recovering", {"docker"}}}});
    return m;
}

}  // namespace mainstay::testing
