// External services and their wake command (SPEC §3): woken when they do not answer, retried
// through the breaker, and probed again at once, then at the fast startup cadence, once a wake
// succeeded. Each story ends with the wind-down check that nothing is left armed.
#include <doctest/doctest.h>

#include "story.hpp"

using namespace mainstay;
using namespace mainstay::supervisor;
using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

config::ServiceSpec wakeable(std::uint32_t breaker_threshold) {
    auto gpu = svc("gpu");
    gpu.kind = config::Kind::external;
    gpu.command.clear();
    gpu.probes.readiness = tcp_probe(1, 10s);
    gpu.probes.readiness->startup_interval = 10s;
    gpu.restart.circuit_breaker = {breaker_threshold, 30s, 1, 1};
    gpu.wake = config::WakeSpec{{"wake-gpu"}, {2, 2min, {1s, 1s, 1.0, resilience::Jitter::none}}};
    return gpu;
}

}  // namespace

TEST_CASE("a wake held by an open breaker waits for the breaker, without spinning") {
    Story t({wakeable(2)});
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    t.world.exit(*t.sup, t.world.helpers.at(0).pid, ExitStatus::exited(1));
    t.advance(1s);
    t.world.exit(*t.sup, t.world.helpers.at(1).pid, ExitStatus::exited(1));  // 2 failures: the breaker opens
    CHECK(t.s("gpu").breaker().state() == resilience::BreakerState::open);
    t.advance(9s);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);  // a new series is due, the breaker says no
    REQUIRE(t.world.timers.count(t.id("gpu")) == 1);
    CHECK(t.world.timers[t.id("gpu")] > t.world.now());  // armed for later: no busy loop
    CHECK(t.world.helpers.size() == 2);
    t.advance(21s);  // the cooldown (30 s from the second failure) ends: the half-open trial runs
    CHECK(t.world.helpers.size() == 3);
    t.wind_down();
}

TEST_CASE("after a wake that succeeded, failing probes wait wake.retry.timeout before waking again") {
    Story t({wakeable(100)});
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    t.world.exit(*t.sup, t.world.helpers.at(0).pid, ExitStatus::exited(0));  // woken
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);  // still booting
    CHECK(t.world.helpers.size() == 1);
    for (int i = 0; i < 11; ++i) {  // probed every 10 s for 110 s: still inside the 2 min grace
        t.advance(10s);
        t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    }
    CHECK(t.world.helpers.size() == 1);
    t.advance(10s);  // 120 s after the wake
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    CHECK(t.world.helpers.size() == 2);
    t.wind_down();
}

TEST_CASE("an external service that does not answer is woken, retried with backoff, then probed again at once") {
    auto gpu = svc("gpu");
    gpu.kind = config::Kind::external;
    gpu.command.clear();
    gpu.probes.readiness = tcp_probe(1, 10s);
    gpu.probes.readiness->startup_interval = 10s;  // no fast cadence: the next probe is 10 s away
    gpu.wake = config::WakeSpec{{"wake-gpu"}, {3, 2min, {5s, 1min, 2.0, resilience::Jitter::none}}};
    Story t({gpu});
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    CHECK(t.s("gpu").state() == State::unhealthy);
    REQUIRE(t.world.helpers.size() == 1);  // attempt 1 at once
    CHECK(t.world.helpers[0].name == "gpu:wake-gpu");
    t.world.exit(*t.sup, t.world.helpers[0].pid, ExitStatus::exited(1));
    t.advance(4999ms);
    CHECK(t.world.helpers.size() == 1);
    t.advance(1ms);  // attempt 2 after 5 s
    REQUIRE(t.world.helpers.size() == 2);
    t.world.exit(*t.sup, t.world.helpers[1].pid, ExitStatus::exited(0));  // the node is starting
    t.advance(0ms);
    // Probed again at once, not after the 10 s interval.
    CHECK(t.world.probes_started.back().at == t.world.now());
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, true);
    CHECK(t.s("gpu").state() == State::ready);
    t.advance(1h);
    CHECK(t.world.helpers.size() == 2);
    t.wind_down();
}

TEST_CASE("after a successful wake the readiness probe runs at the fast startup cadence until it passes") {
    auto gpu = wakeable(100);
    gpu.probes.readiness->startup_interval.reset();  // the default: 100 ms doubling up to interval
    Story t({gpu});
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, true);
    REQUIRE(t.s("gpu").state() == State::ready);
    t.advance(10s);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);  // the node went away: woken
    REQUIRE(t.world.helpers.size() == 1);
    t.world.exit(*t.sup, t.world.helpers[0].pid, ExitStatus::exited(0));
    t.advance(0ms);  // probed again at once: the remote side is not listening yet
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    const TimePoint woken = t.world.now();
    t.advance(100ms);
    REQUIRE(t.world.running_probes.size() == 1);  // 100 ms later, not after the 10 s interval
    CHECK(t.world.probes_started.back().at == woken + 100ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    t.advance(200ms);
    REQUIRE(t.world.running_probes.size() == 1);
    CHECK(t.world.probes_started.back().at == woken + 300ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, true);
    CHECK(t.s("gpu").state() == State::ready);
    t.advance(9999ms);  // passed: back to the interval
    CHECK(t.world.running_probes.empty());
    t.advance(1ms);
    CHECK(t.world.running_probes.size() == 1);
    CHECK(t.world.helpers.size() == 1);
    t.wind_down();
}

TEST_CASE("after a successful wake the fast cadence ends with wake.retry.timeout, then back to the interval") {
    auto gpu = wakeable(100);
    gpu.probes.readiness->startup_interval = 1s;
    gpu.wake->retry.timeout = 5s;
    Story t({gpu});
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, true);
    t.advance(10s);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    REQUIRE(t.world.helpers.size() == 1);
    t.world.exit(*t.sup, t.world.helpers[0].pid, ExitStatus::exited(0));
    const TimePoint woken = t.world.now();
    std::vector<resilience::Duration> at;
    for (int i = 0; i < 6; ++i) {
        t.advance(i == 0 ? 0ms : 1s);
        if (t.world.running_probes.empty()) continue;
        at.push_back(std::chrono::duration_cast<resilience::Duration>(t.world.now() - woken));
        t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    }
    // Every second for wake.retry.timeout (5 s), then the 10 s interval: the next one at 15 s.
    CHECK(at == std::vector<resilience::Duration>{0s, 1s, 2s, 3s, 4s, 5s});
    CHECK(t.s("gpu").probes().next_deadline() == woken + 15s);
    REQUIRE(t.world.helpers.size() == 2);  // the grace after the wake is over: woken again
    t.world.exit(*t.sup, t.world.helpers[1].pid, ExitStatus::exited(1));
    t.wind_down();
}

TEST_CASE("a wake command killed at its timeout whose exit has not come yet arms no timer in the past") {
    // Its exit is what lets the next attempt start; until it comes, a due attempt must not make
    // the timer fire again and again at the same instant (a busy loop).
    Story t({wakeable(100)});
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    REQUIRE(t.world.helpers.size() == 1);
    const int wake = t.world.helpers.at(0).pid;
    t.advance(2min);  // the wake command's timeout: SIGKILL, its exit still to come
    CHECK(t.world.signals.back().pgid == wake);
    CHECK(t.world.signals.back().signal == SIGKILL);
    t.advance(999ms);
    t.world.clock.advance_to(t.world.now() + 1ms);  // the next attempt is due now
    t.sup->on_timer(t.id("gpu"));
    if (t.world.timers.count(t.id("gpu")) != 0) CHECK(t.world.timers[t.id("gpu")] > t.world.now());
    CHECK(t.world.helpers.size() == 1);
    t.world.exit(*t.sup, wake, ExitStatus::killed(SIGKILL));  // now the next attempt runs
    t.advance(0ms);
    CHECK(t.world.helpers.size() == 2);
    t.wind_down();
}

TEST_CASE("every failed wake is logged with when the next comes, and wake attempts are numbered across series") {
    Story t({wakeable(100)});
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    CHECK(logged(t.seen, "gpu: waking (attempt 1)"));
    t.world.exit(*t.sup, t.world.helpers.at(0).pid, ExitStatus::exited(1));
    CHECK(logged(t.seen, "gpu: wake failed (exited with code 1); next wake in 1s"));
    t.advance(1s);
    CHECK(logged(t.seen, "gpu: waking (attempt 2)"));
    t.world.exit(*t.sup, t.world.helpers.at(1).pid, ExitStatus::exited(1));  // max_attempts 2: the series gives up
    CHECK(logged(t.seen, "gpu: wake gave up after 2 attempts"));
    // A later series goes on counting: attempt 3, not 1 again.
    for (int i = 0; i < 200 && t.world.helpers.size() < 3; ++i) {
        t.advance(1s);
        if (t.world.running_probes.count({t.id("gpu"), ProbeKind::readiness}) != 0) {
            t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
        }
    }
    REQUIRE(t.world.helpers.size() == 3);
    CHECK(logged(t.seen, "gpu: waking (attempt 3)"));
    t.world.exit(*t.sup, t.world.helpers.at(2).pid, ExitStatus::exited(0));
    t.wind_down();
}

TEST_CASE(
    "a wake that exits with one of wake.permanent_exit_codes makes the service failed: no wake, no probe until start") {
    auto gpu = wakeable(100);
    gpu.wake->permanent_exit_codes = {77};
    Story t({gpu});
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    REQUIRE(t.world.helpers.size() == 1);
    t.world.exit(*t.sup, t.world.helpers.at(0).pid, ExitStatus::exited(77));
    CHECK(t.s("gpu").state() == State::failed);
    CHECK(t.s("gpu").reason().find("permanent") != std::string::npos);
    CHECK(t.s("gpu").reason().find("wake command exited with code 77") != std::string::npos);
    const auto probes_before = t.world.probe_count(t.id("gpu"), ProbeKind::readiness);
    t.advance(1h);
    CHECK(t.world.helpers.size() == 1);                                              // not retried
    CHECK(t.world.probe_count(t.id("gpu"), ProbeKind::readiness) == probes_before);  // nor probed
    CHECK(t.world.running_probes.empty());
    CHECK(t.sup->control(Control::start, "gpu").empty());
    t.advance(0ms);
    CHECK(t.world.probe_count(t.id("gpu"), ProbeKind::readiness) == probes_before + 1);  // watched again
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    CHECK(t.world.helpers.size() == 2);  // and woken again
    t.wind_down();
}

TEST_CASE("a wake exiting with another code is retried as before") {
    auto gpu = wakeable(100);
    gpu.wake->permanent_exit_codes = {77};
    Story t({gpu});
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, false);
    t.world.exit(*t.sup, t.world.helpers.at(0).pid, ExitStatus::exited(1));
    CHECK(t.s("gpu").state() != State::failed);
    t.advance(1s);
    CHECK(t.world.helpers.size() == 2);
    t.wind_down();
}
