// Whole-supervisor stories on the fake world: no processes, no sleeping, time is advanced by hand.
// Each story ends by checking that no timer is left armed that the state does not explain.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>

#include "story.hpp"
#include "supervisor/status_model.hpp"

using namespace mainstay;
using namespace mainstay::supervisor;
using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

std::vector<resilience::Duration> gaps(const std::vector<FakeWorld::Start>& starts,
                                       const std::vector<TimePoint>& exits) {
    std::vector<resilience::Duration> out;
    for (std::size_t i = 1; i < starts.size() && i - 1 < exits.size(); ++i) {
        out.push_back(std::chrono::duration_cast<resilience::Duration>(starts[i].at - exits[i - 1]));
    }
    return out;
}

}  // namespace

TEST_CASE("a service is running at once and ready after ready_after") {
    Story t({svc("web")});
    CHECK(t.s("web").state() == State::running);
    CHECK(t.world.starts.size() == 1);
    t.advance(999ms);
    CHECK(t.s("web").state() == State::running);
    t.advance(1ms);
    CHECK(t.s("web").state() == State::ready);
    // Left armed: only the backoff reset after `reset_after` healthy.
    REQUIRE(t.timers() == 1);
    CHECK(t.world.timers.begin()->second == t.world.now() + 1min);
    t.wind_down();
}

TEST_CASE("a crashing service restarts with its backoff: 0.1, 0.2, 0.4 s") {
    Story t({svc("web")});
    std::vector<TimePoint> exits;
    for (int i = 0; i < 4; ++i) {
        exits.push_back(t.world.now());
        t.exit("web", ExitStatus::exited(1));
        CHECK(t.s("web").state() == State::recovering);
        CHECK(t.s("web").reason() == "exited with code 1");
        t.advance(999ms);  // longer than each delay here, shorter than ready_after after the restart
        REQUIRE(t.s("web").state() == State::running);
    }
    auto starts = t.world.starts_of("web");
    REQUIRE(starts.size() == 5);
    auto g = gaps(starts, exits);
    CHECK(g[0] == 100ms);
    CHECK(g[1] == 200ms);
    CHECK(g[2] == 400ms);
    CHECK(g[3] == 800ms);
    CHECK(t.s("web").restarts() == starts.size() - 1);
    CHECK(t.s("web").last_exit()->code == 1);
    t.wind_down();
}

TEST_CASE("every exit kills what is left of the dead leader's process group") {
    Story t({svc("web")});
    int pid = *t.s("web").pid();
    t.exit("web", ExitStatus::killed(SIGSEGV));
    REQUIRE(!t.world.signals.empty());
    CHECK(t.world.signals.back().pgid == pid);
    CHECK(t.world.signals.back().signal == SIGKILL);
    CHECK(t.s("web").reason() == "killed by SIGSEGV");
    CHECK(t.s("web").last_exit()->signal == SIGSEGV);
    CHECK_FALSE(t.s("web").last_exit()->code);
    t.wind_down();
}

TEST_CASE("a permanent exit code ends failed, with nothing left armed") {
    auto spec = svc("web");
    spec.restart.permanent_exit_codes = {78};
    Story t({spec});
    t.exit("web", ExitStatus::exited(78));
    CHECK(t.s("web").state() == State::failed);
    CHECK(t.s("web").reason() == "exited with code 78 (a permanent exit code)");
    t.advance(1h);
    CHECK(t.world.starts.size() == 1);
    CHECK(t.timers() == 0);
    t.wind_down();
}

TEST_CASE("the safety valve pauses after max_attempts, resume tries again at once") {
    auto spec = svc("web");
    spec.recovery.max_attempts = 2;
    Story t({spec});
    t.exit("web", ExitStatus::exited(1));  // the first run fails: recovery begins
    t.advance(100ms);
    t.exit("web", ExitStatus::exited(1));  // attempt 1
    t.advance(200ms);
    t.exit("web", ExitStatus::exited(1));  // attempt 2: the valve trips
    CHECK(t.s("web").state() == State::paused);
    CHECK(t.world.timers.count(t.id("web")) == 0);  // nothing of its own armed (a mode line may be pending)
    t.advance(1h);
    CHECK(t.timers() == 0);
    CHECK(t.world.starts.size() == 3);
    CHECK(t.sup->resume("web"));
    CHECK(t.world.starts.size() == 4);
    CHECK(t.s("web").state() == State::running);
    t.wind_down();
}

TEST_CASE("a missing executable is retried with backoff, its reason named") {
    Story t({[] {
        auto s = svc("dockerd");
        return s;
    }()});
    // It was found at the first start; from now on it is gone.
    t.world.missing.insert("dockerd");
    t.exit("dockerd", ExitStatus::exited(1));
    t.advance(100ms);
    CHECK(t.s("dockerd").state() == State::recovering);
    CHECK(t.s("dockerd").reason() == "executable not found: dockerd");
    t.world.missing.clear();
    t.advance(200ms);
    CHECK(t.s("dockerd").state() == State::running);
    t.wind_down();
}

TEST_CASE("a oneshot that succeeds is completed, one that fails is retried") {
    auto job = svc("migrate");
    job.kind = config::Kind::oneshot;
    job.restart.policy = config::RestartPolicy::on_failure;
    Story t({job});
    CHECK(t.s("migrate").state() == State::running);
    t.advance(5s);
    CHECK(t.s("migrate").state() == State::running);  // a oneshot is not "ready": it completes
    t.exit("migrate", ExitStatus::exited(2));
    CHECK(t.s("migrate").state() == State::recovering);
    t.advance(100ms);
    t.exit("migrate", ExitStatus::exited(0));
    CHECK(t.s("migrate").state() == State::completed);
    CHECK(t.timers() == 0);
    t.wind_down();
}

TEST_CASE(
    "a oneshot still running at its timeout is stopped, counts as a failure and is retried, its dependents wait saying "
    "on what") {
    auto job = svc("migrate");
    job.kind = config::Kind::oneshot;
    job.timeout = 10s;
    job.stop.timeout = 2s;
    job.restart.policy = config::RestartPolicy::on_failure;
    job.restart.backoff = {1s, 1min, 2.0, resilience::Jitter::none};
    auto web = svc("web", {dep("migrate", true, config::Condition::completed)});
    Story t({job, web});
    const int first = *t.s("migrate").pid();
    t.advance(9900ms);
    CHECK(t.s("migrate").state() == State::running);
    t.advance(100ms);
    REQUIRE(t.s("migrate").state() == State::stopping);
    CHECK(t.s("migrate").reason().find("timed out after 10s") != std::string::npos);
    REQUIRE(!t.world.signals.empty());
    CHECK(t.world.signals.back().pgid == first);
    CHECK(t.world.signals.back().signal == SIGTERM);
    t.advance(2s);  // it ignores SIGTERM: SIGKILL after stop.timeout
    CHECK(t.world.signals.back().signal == SIGKILL);
    t.world.exit(*t.sup, first, ExitStatus::killed(SIGKILL));
    CHECK(t.s("migrate").state() == State::recovering);
    CHECK(t.s("migrate").reason().find("timed out: still running after 10s (its timeout)") != std::string::npos);
    CHECK(t.s("web").state() == State::blocked);
    CHECK(t.s("web").reason() == "migrate is recovering");
    t.advance(1s);  // the retry: a fresh run, with its own timeout
    CHECK(t.world.starts_of("migrate").size() == 2);
    t.advance(5s);
    t.exit("migrate", ExitStatus::exited(0));
    CHECK(t.s("migrate").state() == State::completed);
    CHECK(t.s("web").state() == State::running);
    t.wind_down();
}

TEST_CASE("a oneshot at its timeout with restart policy never is failed, and timeout 0 lets it run") {
    auto job = svc("migrate");
    job.kind = config::Kind::oneshot;
    job.timeout = 1s;
    job.restart.policy = config::RestartPolicy::never;
    auto forever = svc("backup");
    forever.kind = config::Kind::oneshot;
    forever.timeout = 0s;
    Story t({job, forever});
    t.advance(1s);
    REQUIRE(t.s("migrate").state() == State::stopping);
    t.exit("migrate", ExitStatus::killed(SIGTERM));
    CHECK(t.s("migrate").state() == State::failed);
    CHECK(t.s("migrate").reason().find("timed out") != std::string::npos);
    t.advance(24h);
    CHECK(t.s("backup").state() == State::running);
    CHECK(t.world.starts_of("migrate").size() == 1);
    t.wind_down();
}

TEST_CASE("a oneshot's timeout counts as a timeout of operation run, for the metrics") {
    auto job = svc("migrate");
    job.kind = config::Kind::oneshot;
    job.timeout = 1s;
    config::Config c;
    c.services = {job};
    FakeWorld world;
    resilience::EventLog events;
    Supervisor sup(c, world, 1, &events);
    sup.start();
    world.advance(sup, 1s);
    const auto timeouts = std::count_if(events.events().begin(), events.events().end(), [](const resilience::Event& e) {
        return e.kind == resilience::EventKind::timeout && e.owner == "migrate" && e.operation == "run";
    });
    CHECK(timeouts == 1);
}

TEST_CASE(
    "a probe failing permanently (an HTTP status in permanent_status) stops the process and makes it failed, probed no "
    "more") {
    auto web = svc("web");
    web.probes.readiness = tcp_probe(3, 1s);
    web.stop.timeout = 2s;
    Story t({web});
    t.advance(0ms);
    const int pid = *t.s("web").pid();
    t.world.probe_status(*t.sup, "web", ProbeKind::readiness, resilience::ProbeStatus::permanent_failure,
                         "HTTP 403 (listed in permanent_status)");
    CHECK(t.s("web").state() == State::stopping);  // at once: not after failure_threshold results
    CHECK(t.world.signals.back().pgid == pid);
    CHECK(t.world.signals.back().signal == SIGTERM);
    CHECK(t.world.running_probes.empty());
    t.world.exit(*t.sup, pid, ExitStatus::killed(SIGTERM));
    CHECK(t.s("web").state() == State::failed);
    CHECK(t.s("web").reason().find("permanent") != std::string::npos);
    CHECK(t.s("web").reason().find("HTTP 403") != std::string::npos);
    const auto probes = t.world.probe_count(t.id("web"), ProbeKind::readiness);
    t.advance(1h);
    CHECK(t.world.starts_of("web").size() == 1);  // nothing retries it
    CHECK(t.world.probe_count(t.id("web"), ProbeKind::readiness) == probes);
    CHECK(t.sup->control(Control::resume, "web").empty());  // resume (like start) runs it again
    CHECK(t.world.starts_of("web").size() == 2);
    t.wind_down();
}

TEST_CASE("restart policies: never fails on a crash, on-failure stops on a clean exit") {
    auto a = svc("a");
    a.restart.policy = config::RestartPolicy::never;
    auto b = svc("b");
    b.restart.policy = config::RestartPolicy::on_failure;
    Story t({a, b});
    t.exit("a", ExitStatus::exited(3));
    t.exit("b", ExitStatus::exited(0));
    CHECK(t.s("a").state() == State::failed);
    CHECK(t.s("a").reason() == "exited with code 3; restart policy is never");
    CHECK(t.s("b").state() == State::stopped);
    t.advance(1h);
    CHECK(t.world.starts.size() == 2);
    CHECK(t.timers() == 0);
    t.wind_down();
}

TEST_CASE("the circuit breaker opens at its threshold and holds restarts for its cooldown") {
    auto spec = svc("web");
    spec.restart.backoff = {0ms, 0ms, 1.0, resilience::Jitter::none};
    spec.restart.circuit_breaker = {3, 30s, 1, 1};
    Story t({spec});
    for (int i = 0; i < 3; ++i) t.exit("web", ExitStatus::exited(1));  // zero backoff: restarted at once
    CHECK(t.world.starts.size() == 3);
    CHECK(t.s("web").breaker().state() == resilience::BreakerState::open);
    CHECK(t.s("web").state() == State::recovering);
    CHECK(t.s("web").reason() == "exited with code 1; circuit breaker open for 30s");
    t.advance(29s);
    CHECK(t.world.starts.size() == 3);
    t.advance(1s);
    CHECK(t.world.starts.size() == 4);  // the half-open trial
    t.advance(1s);                      // ready: the trial succeeded
    CHECK(t.s("web").breaker().state() == resilience::BreakerState::closed);
    t.wind_down();
}

TEST_CASE("the backoff returns to initial after reset_after healthy") {
    auto spec = svc("web");
    spec.restart.reset_after = 1min;
    Story t({spec});
    for (int i = 0; i < 3; ++i) {
        t.exit("web", ExitStatus::exited(1));
        t.advance(5s);  // restarted and then ready again
    }
    TimePoint before = t.world.now();
    t.exit("web", ExitStatus::exited(1));
    t.advance(2s);
    auto late = t.world.starts_of("web").back().at - before;
    CHECK(late > 100ms);  // the backoff kept growing: no reset yet
    t.advance(1min);      // healthy for reset_after
    before = t.world.now();
    t.exit("web", ExitStatus::exited(1));
    t.advance(2s);
    CHECK(t.world.starts_of("web").back().at - before == 100ms);
    t.wind_down();
}

TEST_CASE("an external service is never spawned") {
    auto gpu = svc("gpu");
    gpu.kind = config::Kind::external;
    gpu.command.clear();
    config::ProbeSpec ping;
    ping.handler = config::TcpProbe{{"10.0.0.5", 22}};
    gpu.probes.readiness = ping;
    Story t({gpu});
    CHECK(t.world.starts.empty());
    CHECK(t.s("gpu").state() == State::starting);
    t.advance(0ms);
    t.world.probe(*t.sup, "gpu", ProbeKind::readiness, true);
    CHECK(t.s("gpu").state() == State::ready);
    CHECK(t.world.starts.empty());
    t.sup->shutdown();
    CHECK(t.world.complete);
    CHECK(t.world.running_probes.empty());
    CHECK(t.timers() == 0);
    t.wind_down();
}

TEST_CASE("a dependent waits until its dependency is ready") {
    Story t({svc("db"), svc("app", {dep("db")})});
    CHECK(t.s("app").state() == State::waiting);
    CHECK(t.world.starts_of("app").empty());
    t.advance(1s);
    CHECK(t.s("db").state() == State::ready);
    CHECK(t.s("app").state() == State::running);
    t.wind_down();
}

TEST_CASE("a soft dependency that failed its attempt lets the dependent start") {
    Story t({svc("docker"), svc("app", {dep("docker", false)})});
    t.exit("docker", ExitStatus::exited(1));
    CHECK(t.s("docker").state() == State::recovering);
    CHECK(t.s("app").state() == State::running);
    t.wind_down();
}

TEST_CASE("stop sends the stop signal to the group, then SIGKILL after stop.timeout") {
    auto spec = svc("web");
    spec.stop = {SIGINT, 5s, std::nullopt};
    Story t({spec});
    int pid = *t.s("web").pid();
    t.sup->shutdown();
    CHECK(t.s("web").state() == State::stopping);
    CHECK(t.world.signals.back().pgid == pid);
    CHECK(t.world.signals.back().signal == SIGINT);
    t.advance(5s);
    CHECK(t.world.signals.back().signal == SIGKILL);
    CHECK_FALSE(t.world.complete);
    t.exit("web", ExitStatus::killed(SIGKILL));
    CHECK(t.s("web").state() == State::stopped);
    CHECK(t.world.complete);
    CHECK(t.timers() == 0);
    t.wind_down();
}

TEST_CASE("shutdown stops dependents before their dependencies") {
    Story t({svc("db"), svc("app", {dep("db")}), svc("worker", {dep("app")})});
    t.advance(3s);
    REQUIRE(t.s("worker").state() == State::ready);
    t.sup->shutdown();
    CHECK(t.s("worker").state() == State::stopping);
    CHECK(t.s("app").state() == State::ready);
    t.exit("worker", ExitStatus::exited(0));
    CHECK(t.s("app").state() == State::stopping);
    CHECK(t.s("db").state() == State::ready);
    t.exit("app", ExitStatus::exited(0));
    CHECK(t.s("db").state() == State::stopping);
    t.exit("db", ExitStatus::exited(0));
    CHECK(t.world.complete);
    CHECK(t.timers() == 0);
    t.wind_down();
}

TEST_CASE("shutdown of one wave of many costs each exit its own service, not a pass over the wave") {
    std::vector<config::ServiceSpec> specs;
    for (int i = 0; i < 300; ++i) specs.push_back(svc("s" + std::to_string(i)));
    Story t(specs);
    t.sup->shutdown();
    const std::size_t before = t.world.timer_sets;
    for (int i = 0; i < 300; ++i) {
        CHECK(t.s("s" + std::to_string(i)).state() == State::stopping);
        t.exit("s" + std::to_string(i), ExitStatus::killed(SIGTERM));
    }
    CHECK(t.world.complete);
    CHECK(t.timers() == 0);
    // A pass over the wave at every exit would set about 300 * 300 / 2 timers.
    CHECK(t.world.timer_sets - before < 300 * 4);
    t.wind_down();
}

TEST_CASE("shutdown.timeout kills whatever still runs") {
    auto spec = svc("stubborn");
    spec.stop.timeout = 1h;
    Story t({spec});
    t.sup->shutdown();
    t.advance(30s);
    CHECK(t.world.signals.back().signal == SIGKILL);
    t.exit("stubborn", ExitStatus::killed(SIGKILL));
    CHECK(t.world.complete);
    CHECK(t.timers() == 0);
    t.wind_down();
}

TEST_CASE("services not yet started are simply stopped at shutdown, recovery timers go away") {
    Story t({svc("db"), svc("app", {dep("db")})});
    t.exit("db", ExitStatus::exited(1));
    CHECK(t.timers() == 1);  // db's next attempt
    t.sup->shutdown();
    CHECK(t.s("app").state() == State::stopped);
    CHECK(t.s("db").state() == State::stopped);
    CHECK(t.world.complete);
    CHECK(t.timers() == 0);
    t.wind_down();
}

TEST_CASE("a paused service says why: the safety valve and the last failure") {
    auto spec = svc("web");
    spec.recovery.max_attempts = 1;
    Story t({spec});
    t.exit("web", ExitStatus::exited(1));
    t.advance(100ms);
    t.exit("web", ExitStatus::exited(4));
    CHECK(t.s("web").state() == State::paused);
    CHECK(t.s("web").reason() == "safety valve: gave up after 1 attempts; last: exited with code 4");
    t.wind_down();
}

TEST_CASE("stop.command is run instead of the stop signal, SIGKILL still follows stop.timeout") {
    auto spec = svc("db");
    spec.stop = {SIGTERM, 10s, config::Argv{"pg_ctl", "stop"}};
    Story t({spec});
    int pid = *t.s("db").pid();
    t.sup->shutdown();
    REQUIRE(t.world.helpers.size() == 1);
    CHECK(t.world.helpers[0].name == "db:pg_ctl");
    CHECK(std::none_of(t.world.signals.begin(), t.world.signals.end(), [](auto& s) { return s.signal == SIGTERM; }));
    int helper = t.world.helpers[0].pid;
    t.world.exit(*t.sup, helper, ExitStatus::exited(0));
    CHECK(t.s("db").state() == State::stopping);
    t.advance(10s);
    CHECK(t.world.signals.back().pgid == pid);
    CHECK(t.world.signals.back().signal == SIGKILL);
    t.exit("db", ExitStatus::killed(SIGKILL));
    CHECK(t.world.complete);
    CHECK(t.timers() == 0);
    t.wind_down();
}

TEST_CASE("during shutdown nothing restarts: a dependency crashing while its dependents stop stays down") {
    Story t({svc("db"), svc("app", {dep("db")})});
    t.advance(3s);
    t.sup->shutdown();
    REQUIRE(t.s("app").state() == State::stopping);
    t.exit("db", ExitStatus::exited(1));  // db crashes while app is still stopping
    CHECK(t.s("db").state() == State::stopped);
    t.advance(1min);
    CHECK(t.world.starts_of("db").size() == 1);
    t.exit("app", ExitStatus::exited(0));
    CHECK(t.world.complete);
    CHECK(t.timers() == 0);
    t.wind_down();
}

TEST_CASE("a stop command still running when its service exits is killed, shutdown waits for it") {
    auto spec = svc("db");
    spec.stop = {SIGTERM, 10s, config::Argv{"slow-stop"}};
    Story t({spec});
    t.sup->shutdown();
    int helper = t.world.helpers.at(0).pid;
    t.exit("db", ExitStatus::exited(0));
    CHECK(t.world.signals.back().pgid == helper);
    CHECK(t.world.signals.back().signal == SIGKILL);
    CHECK_FALSE(t.world.complete);
    t.world.exit(*t.sup, helper, ExitStatus::killed(SIGKILL));
    CHECK(t.world.complete);
    t.wind_down();
}

TEST_CASE("after shutdown.timeout, the waves still to stop are killed without their stop commands") {
    auto db = svc("db");
    db.stop = {SIGTERM, 1h, config::Argv{"pg_ctl", "stop"}};
    auto app = svc("app", {dep("db")});
    app.stop.timeout = 1h;
    Story t({db, app});
    t.advance(3s);
    t.sup->shutdown();
    t.advance(30s);
    CHECK(t.world.signals.back().signal == SIGKILL);
    t.exit("app", ExitStatus::killed(SIGKILL));
    CHECK(t.world.helpers.empty());  // db was not asked nicely any more
    CHECK(t.world.signals.back().pgid == *t.s("db").pid());
    CHECK(t.world.signals.back().signal == SIGKILL);
    t.exit("db", ExitStatus::killed(SIGKILL));
    CHECK(t.world.complete);
    t.wind_down();
}

TEST_CASE("a soft dependency that ended stopped lets its dependent start") {
    auto once = svc("init");
    once.restart.policy = config::RestartPolicy::never;
    Story t({once, svc("app", {dep("init", false)})});
    CHECK(t.s("app").state() == State::waiting);
    t.exit("init", ExitStatus::exited(0));
    CHECK(t.s("init").state() == State::stopped);
    CHECK(t.s("app").state() == State::running);
    t.wind_down();
}

TEST_CASE("a required dependency that failed blocks its dependent, naming it, a soft dependent goes on") {
    auto base = svc("base");
    base.restart.permanent_exit_codes = {78};
    Story t({base, svc("mid", {dep("base")}), svc("top", {dep("mid", false)})});
    t.exit("base", ExitStatus::exited(78));
    CHECK(t.s("base").state() == State::failed);
    CHECK(t.s("mid").state() == State::blocked);
    CHECK(t.s("mid").reason() == "base is failed");
    CHECK(t.s("top").state() == State::running);
    CHECK(t.world.starts_of("mid").empty());
    t.wind_down();
}

TEST_CASE("readiness: running until the probe passes, failing marks it unhealthy without a restart") {
    auto web = svc("web");
    web.probes.readiness = tcp_probe(2);
    Story t({web, svc("app", {dep("web")})});
    t.advance(5s);  // ready_after does not apply with a readiness probe
    CHECK(t.s("web").state() == State::running);
    CHECK(t.s("app").state() == State::waiting);
    t.world.probe(*t.sup, "web", ProbeKind::readiness, true);
    CHECK(t.s("web").state() == State::ready);
    CHECK(t.s("app").state() == State::running);
    t.advance(10s);
    t.world.probe(*t.sup, "web", ProbeKind::readiness, false);
    CHECK(t.s("web").state() == State::ready);  // one failure is below the threshold
    t.advance(10s);
    t.world.probe(*t.sup, "web", ProbeKind::readiness, false);
    CHECK(t.s("web").state() == State::unhealthy);
    CHECK(t.s("web").reason() == "readiness probe tcp 127.0.0.1:80 failed: connect: connection refused");
    CHECK(t.world.starts_of("web").size() == 1);  // not killed
    CHECK(t.world.signals.empty());
    t.advance(10s);
    t.world.probe(*t.sup, "web", ProbeKind::readiness, true);
    CHECK(t.s("web").state() == State::ready);
    t.wind_down();
}

TEST_CASE("before its first success a probe runs fast: 100 ms doubling up to the interval") {
    auto web = svc("web");
    web.probes.readiness = tcp_probe(100, 1s);
    Story t({web});
    std::vector<TimePoint> at;
    REQUIRE(t.world.probes_started.size() == 1);  // initial_delay 0: the first one runs at once
    for (int i = 0; i < 6; ++i) {
        at.push_back(t.world.probes_started.back().at);
        t.world.probe(*t.sup, "web", ProbeKind::readiness, false);  // answered at once
        const std::size_t seen = t.world.probes_started.size();
        for (int step = 0; step < 1000 && t.world.probes_started.size() == seen; ++step) t.advance(10ms);
    }
    std::vector<resilience::Duration> gaps_ms;
    for (std::size_t i = 1; i < at.size(); ++i)
        gaps_ms.push_back(std::chrono::duration_cast<resilience::Duration>(at[i] - at[i - 1]));
    CHECK(gaps_ms == std::vector<resilience::Duration>{100ms, 200ms, 400ms, 800ms, 1s});
    t.wind_down();
}

TEST_CASE("a liveness failure restarts the service, a readiness failure does not") {
    auto web = svc("web");
    web.probes.liveness = tcp_probe(1);
    Story t({web});
    int pid = *t.s("web").pid();
    t.advance(0ms);
    t.world.probe(*t.sup, "web", ProbeKind::liveness, false);
    CHECK(t.s("web").state() == State::stopping);
    CHECK(t.s("web").reason() == "liveness probe tcp 127.0.0.1:80 failed: connect: connection refused; restarting");
    CHECK(t.world.signals.back().pgid == pid);
    CHECK(t.world.signals.back().signal == SIGTERM);
    t.exit("web", ExitStatus::killed(SIGTERM));
    CHECK(t.s("web").state() == State::recovering);
    CHECK(t.s("web").reason() == "liveness probe tcp 127.0.0.1:80 failed: connect: connection refused");
    CHECK(t.world.running_probes.empty());
    t.advance(100ms);
    CHECK(t.world.starts_of("web").size() == 2);
    t.wind_down();
}

TEST_CASE("a startup probe gates readiness and liveness until it passes, its failure restarts") {
    auto web = svc("web");
    web.probes.startup = tcp_probe(2);
    web.probes.readiness = tcp_probe();
    web.probes.liveness = tcp_probe();
    Story t({web});
    t.advance(0ms);
    CHECK(t.world.running_probes.size() == 1);
    t.world.probe(*t.sup, "web", ProbeKind::startup, true);
    t.advance(0ms);
    CHECK(t.world.running_probes.size() == 2);  // readiness and liveness, startup done for good
    t.world.probe(*t.sup, "web", ProbeKind::readiness, true);
    CHECK(t.s("web").state() == State::ready);
    t.world.probe(*t.sup, "web", ProbeKind::liveness, true);
    t.advance(1h);
    CHECK(t.world.probe_count(t.s("web").id(), ProbeKind::startup) == 1);

    auto slow = svc("slow");
    slow.probes.startup = tcp_probe(2);
    Story u({slow});
    u.advance(0ms);
    u.world.probe(*u.sup, "slow", ProbeKind::startup, false);
    u.advance(1s);
    u.world.probe(*u.sup, "slow", ProbeKind::startup, false, "timed out after 1s");
    CHECK(u.s("slow").state() == State::stopping);
    CHECK(u.s("slow").reason() == "startup probe tcp 127.0.0.1:80 failed: timed out after 1s; restarting");
    u.advance(5s);
    CHECK(u.s("slow").state() == State::stopping);  // no ready_after before the startup probe passed
    t.wind_down();
}

TEST_CASE("Docker is down: the startup phase ends degraded, the dependents start when it recovers") {
    auto docker = svc("docker");
    docker.restart.backoff = {10s, 1min, 2.0, resilience::Jitter::none};
    Story t({docker, svc("soft", {dep("docker", false)}), svc("hard", {dep("docker")}), svc("free")});
    CHECK(t.sup->mode() == Mode::starting);
    t.world.missing.insert("docker");
    t.exit("docker", ExitStatus::exited(1));  // its first attempt failed
    CHECK(t.s("soft").state() == State::running);
    CHECK(t.s("hard").state() == State::blocked);
    CHECK(t.s("hard").reason() == "docker is recovering");
    t.advance(1s);  // soft and free become ready
    CHECK(t.sup->startup_done());
    CHECK(t.sup->mode() == Mode::degraded);
    CHECK(
        logged(t.world, "mode: degraded: docker recovering (exited with code 1); hard blocked (docker is recovering)"));
    t.world.missing.clear();
    t.advance(9s);  // docker's next attempt, 10 s after its failure
    CHECK(t.s("docker").state() == State::running);
    t.advance(1s);
    CHECK(t.s("docker").state() == State::ready);
    CHECK(t.s("hard").state() == State::running);  // started by itself, at once
    t.advance(1s);
    CHECK(t.sup->mode() == Mode::full);
    CHECK(logged(t.world, "mode: full"));
    t.wind_down();
}

TEST_CASE("a dependency that recovers wakes its dependents' recovery instead of their backoff") {
    auto app = svc("app", {dep("db", false)});
    app.restart.backoff = {1min, 1min, 1.0, resilience::Jitter::none};
    auto db = svc("db");
    db.restart.backoff = {1s, 1s, 1.0, resilience::Jitter::none};
    Story t({db, app});
    t.exit("db", ExitStatus::exited(1));
    CHECK(t.s("app").state() == State::running);
    t.exit("app", ExitStatus::exited(1));  // app fails without db: a minute's backoff
    CHECK(t.s("app").state() == State::recovering);
    t.advance(1s);  // db restarted
    t.advance(1s);  // and ready
    REQUIRE(t.s("db").state() == State::ready);
    CHECK(t.world.starts_of("app").size() == 2);  // woken now, not a minute later
    t.wind_down();
}

TEST_CASE("startup.timeout ends the startup phase while something is still starting") {
    auto slow = svc("slow");
    slow.ready_after = 10min;
    Story t({slow});
    // The timer was armed at start with the default 60s.
    t.advance(60s);
    CHECK(t.sup->startup_done());
    CHECK(t.sup->mode() == Mode::degraded);
    CHECK(logged(t.world, "startup.timeout (1m) reached"));
    t.wind_down();
}

TEST_CASE("a critical service that fails for good makes the mode critical") {
    auto core = svc("core");
    core.critical = true;
    core.restart.permanent_exit_codes = {78};
    Story t({core, svc("other")});
    t.exit("core", ExitStatus::exited(78));
    t.advance(1s);
    CHECK(t.sup->mode() == Mode::critical);
    CHECK(logged(t.world, "mode: critical: core failed (exited with code 78 (a permanent exit code))"));
    t.wind_down();
}

TEST_CASE("a process whose readiness never passes is unhealthy after failure_threshold: it had its chance") {
    auto a = svc("a");
    a.probes.readiness = tcp_probe(2);
    Story t({a, svc("b", {dep("a", false)}), svc("c", {dep("a")})});
    t.advance(0ms);
    t.world.probe(*t.sup, "a", ProbeKind::readiness, false);
    CHECK(t.s("a").state() == State::running);
    t.advance(100ms);
    t.world.probe(*t.sup, "a", ProbeKind::readiness, false);
    CHECK(t.s("a").state() == State::unhealthy);
    CHECK(t.s("b").state() == State::running);
    CHECK(t.s("c").state() == State::blocked);
    CHECK(t.s("c").reason() == "a is unhealthy");
    t.advance(200ms);
    t.world.probe(*t.sup, "a", ProbeKind::readiness, true);
    CHECK(t.s("a").state() == State::ready);
    CHECK(t.s("c").state() == State::running);
    t.wind_down();
}

TEST_CASE("the status model: mode, startup, and per service state, breaker, next attempt, exit, blocked_by") {
    auto docker = svc("docker");
    docker.restart.backoff = {8s, 1min, 2.0, resilience::Jitter::none};
    Story t({docker, svc("app", {dep("docker")}), svc("free")});
    t.exit("docker", ExitStatus::exited(1));
    t.advance(1s);
    StatusModel m = snapshot(*t.sup, t.world.now());
    CHECK(m.mode == Mode::degraded);
    CHECK(m.startup_done);
    CHECK(m.startup_duration == 1s);
    REQUIRE(m.services.size() == 3);
    const ServiceStatus& d = m.services[0];
    CHECK(d.name == "docker");
    CHECK(d.state == State::recovering);
    CHECK_FALSE(d.ready);
    CHECK_FALSE(d.pid);
    CHECK(d.breaker == "closed");
    CHECK(d.next_attempt_in == 7s);
    REQUIRE(d.last_exit);
    CHECK(d.last_exit->code == 1);
    CHECK(d.reason == "exited with code 1");
    const ServiceStatus& a = m.services[1];
    CHECK(a.state == State::blocked);
    CHECK(a.blocked_by == std::vector<std::string>{"docker"});
    CHECK(m.services[2].ready);
    CHECK(m.services[2].pid.has_value());
    t.wind_down();
}

TEST_CASE("probe durations and failures are recorded for the status model") {
    auto web = svc("web");
    web.probes.readiness = tcp_probe(3);
    Story t({web});
    t.advance(0ms);
    t.advance(250ms);  // the probe takes 250 ms
    t.world.probe(*t.sup, "web", ProbeKind::readiness, false);
    StatusModel m = snapshot(*t.sup, t.world.now());
    REQUIRE(m.services[0].probes.size() == 1);
    CHECK(m.services[0].probes[0].kind == ProbeKind::readiness);
    CHECK(m.services[0].probes[0].last_duration == 250ms);
    CHECK(m.services[0].probes[0].failures == 1);
    CHECK(m.services[0].probes[0].health == resilience::HealthState::unknown);
    t.wind_down();
}

TEST_CASE("the end of the startup phase is notified once, on_critical_failure: exit stops everything with 1") {
    auto core = svc("core");
    core.critical = true;
    core.restart.permanent_exit_codes = {78};
    Story t({core, svc("other")}, {}, {},
            [](config::MainConfig& m) { m.on_critical_failure = config::CriticalFailure::exit; });
    t.advance(1s);
    REQUIRE(t.world.ready_notifications.size() == 1);
    CHECK(t.world.ready_notifications[0] == "mode: full");
    CHECK_FALSE(t.sup->shutting_down());
    t.exit("core", ExitStatus::exited(78));
    CHECK(t.sup->mode() == Mode::stopping);
    CHECK(t.sup->shutting_down());
    CHECK(t.sup->exit_code() == 1);
    CHECK(t.world.ready_notifications.size() == 1);
    t.wind_down();
}

TEST_CASE(
    "signals: the first stop signal shuts down, a second kills at once, USR1/USR2/WINCH reach the services that ask, "
    "HUP asks for a reload") {
    auto a_spec = svc("a");
    a_spec.forward_signals = {SIGUSR1, SIGWINCH};
    Story st({a_spec, svc("b")});
    const int a = *st.s("a").pid(), b = *st.s("b").pid();
    st.sup->on_signal(SIGUSR1);
    st.sup->on_signal(SIGUSR2);
    auto sent = [&](int pgid, int sig) {
        return std::count_if(st.world.signals.begin(), st.world.signals.end(),
                             [&](const auto& s) { return s.pgid == pgid && s.signal == sig; });
    };
    CHECK(sent(a, SIGUSR1) == 1);
    CHECK(sent(b, SIGUSR1) == 0);  // b did not ask: a logrotate postrotate kill -USR1 must not kill it
    CHECK(sent(a, SIGUSR2) + sent(b, SIGUSR2) == 0);
    CHECK(logged(st.world, "received SIGUSR1: passed on to 1 service (forward_signals)"));
    CHECK(logged(st.world, "received SIGUSR2: passed on to 0 services (forward_signals)"));
    st.sup->on_signal(SIGHUP);
    CHECK(st.world.reloads == 1);  // the runtime reads the configuration again
    CHECK(st.s("a").state() == State::running);
    CHECK(std::any_of(st.world.logs.begin(), st.world.logs.end(),
                      [](const auto& l) { return l.find("SIGHUP") != std::string::npos; }));
    CHECK_FALSE(st.sup->shutting_down());
    st.sup->on_signal(SIGTERM);
    CHECK(st.sup->shutting_down());
    CHECK(sent(a, SIGTERM) + sent(b, SIGTERM) >= 1);
    CHECK(sent(a, SIGKILL) + sent(b, SIGKILL) == 0);
    st.sup->on_signal(SIGINT);  // the second stop signal: no more waiting for stop.timeout
    CHECK(sent(a, SIGKILL) == 1);
    CHECK(sent(b, SIGKILL) == 1);
    st.wind_down();
}

TEST_CASE("the stop signals and the forwarded ones are the signals the supervisor handles") {
    const auto& handled = Supervisor::handled_signals();
    for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH}) {
        CHECK(std::find(handled.begin(), handled.end(), sig) != handled.end());
    }
}

TEST_CASE("a startup-timeout timer that fires after the startup phase ended is ignored") {
    Story st({svc("a")});
    st.advance(2s);
    REQUIRE(st.sup->startup_done());
    const auto duration = st.sup->startup_duration();
    const auto logs = st.world.logs.size();
    st.sup->on_timer(kStartupTimer);  // late: it was cancelled, but had already fired
    CHECK(st.sup->startup_duration() == duration);
    CHECK(st.world.logs.size() == logs);  // no "startup.timeout reached" line
    CHECK(st.sup->mode() == Mode::full);
    st.wind_down();
}

TEST_CASE("a liveness probe runs every interval from initial_delay, not at the fast startup cadence") {
    // A slow starter gets failure_threshold x interval of grace before a liveness kill, as in
    // Kubernetes; the fast cadence is for startup and readiness probes only.
    auto web = svc("web");
    web.probes.liveness = tcp_probe(3, 10s);
    Story t({web});
    REQUIRE(t.world.probe_count(t.s("web").id(), ProbeKind::liveness) == 1);  // initial_delay 0: at once
    t.world.probe(*t.sup, "web", ProbeKind::liveness, false);
    t.advance(9s);
    CHECK(t.world.probe_count(t.s("web").id(), ProbeKind::liveness) == 1);  // not 100 ms later
    t.advance(1s);
    CHECK(t.world.probe_count(t.s("web").id(), ProbeKind::liveness) == 2);
    t.world.probe(*t.sup, "web", ProbeKind::liveness, false);
    t.advance(10s);
    t.world.probe(*t.sup, "web", ProbeKind::liveness, false);
    CHECK(t.s("web").state() == State::stopping);  // the third failure, 20 s after the first
    t.wind_down();
}

TEST_CASE("reset_after defaults to 1m, after it, a crash starts a fresh series with the breaker closed") {
    config::ServiceSpec defaults;
    CHECK(defaults.restart.reset_after == std::chrono::minutes(1));
    auto spec = svc("web");
    spec.restart.circuit_breaker.failure_threshold = 2;
    spec.restart.circuit_breaker.recovery_timeout = 10min;
    spec.restart.backoff = {100ms, 10min, 2.0, resilience::Jitter::none};
    Story t({spec});
    // Two quick crashes (the second before it was ever ready) open the breaker.
    t.exit("web", ExitStatus::exited(1));
    t.advance(150ms);
    t.exit("web", ExitStatus::exited(1));
    REQUIRE(t.s("web").breaker().state() == resilience::BreakerState::open);
    t.advance(11min);  // the trial after the cooldown succeeds: running, then ready
    REQUIRE(t.s("web").state() == State::ready);
    t.advance(1min);  // ready for reset_after
    const TimePoint before = t.world.now();
    t.exit("web", ExitStatus::exited(1));
    CHECK(t.s("web").breaker().state() == resilience::BreakerState::closed);
    t.advance(2s);
    CHECK(t.world.starts_of("web").back().at - before == 100ms);  // first retry after `initial`
    t.wind_down();
}

TEST_CASE("every failed attempt logs one line with the reason, the next attempt's number and when it is due") {
    // Before, a reason that did not change was logged once: a service retrying for minutes
    // looked stuck.
    Story t({[] {
        auto s = svc("docker");
        return s;
    }()});
    t.world.missing.insert("docker");
    t.exit("docker", ExitStatus::exited(1));
    auto count = [&](const std::string& text) {
        return std::count_if(t.world.logs.begin(), t.world.logs.end(),
                             [&](const std::string& l) { return l.find(text) != std::string::npos; });
    };
    CHECK(count("docker: recovering (exited with code 1); attempt 1 in 100ms") == 1);
    t.advance(100ms);  // attempt 1: the executable is missing
    CHECK(count("docker: recovering (executable not found: docker); attempt 2 in 200ms") == 1);
    t.advance(200ms);
    CHECK(count("docker: recovering (executable not found: docker); attempt 3 in 400ms") == 1);
    t.advance(400ms);
    CHECK(count("docker: recovering (executable not found: docker); attempt 4 in 800ms") == 1);
    CHECK(count("docker: recovering") == 4);  // one line per failure, no more
    t.wind_down();
}

TEST_CASE("a service ended by its own stop signal reads as asked: stopped (SIGTERM), not as a failure") {
    Story t({svc("web"), svc("db")});
    const int web = *t.s("web").pid();
    const int db = *t.s("db").pid();
    t.sup->shutdown();
    t.world.exit(*t.sup, web, ExitStatus::killed(SIGTERM));
    t.world.exit(*t.sup, db, ExitStatus::exited(0));
    CHECK(t.s("web").state() == State::stopped);
    CHECK(t.s("web").reason() == "SIGTERM");
    CHECK(t.s("db").reason() == "exited with code 0");
    t.wind_down();
}

TEST_CASE("circuit breaker transitions have lines of their own, the open one says when the trial comes") {
    auto spec = svc("ollama");
    spec.restart.backoff = {0ms, 0ms, 1.0, resilience::Jitter::none};
    spec.restart.circuit_breaker = {3, 30s, 1, 1};
    Story t({spec});
    auto count = [&](const std::string& text) {
        return std::count_if(t.world.logs.begin(), t.world.logs.end(),
                             [&](const std::string& l) { return l.find(text) != std::string::npos; });
    };
    for (int i = 0; i < 3; ++i) t.exit("ollama", ExitStatus::exited(1));
    CHECK(count("ollama: circuit breaker open after 3 failures in a row; next trial in 30s") == 1);
    t.advance(30s);
    CHECK(count("ollama: circuit breaker half-open: one trial attempt now") == 1);
    t.exit("ollama", ExitStatus::exited(1));  // the trial fails
    CHECK(count("ollama: circuit breaker open again: the trial failed; next trial in 30s") == 1);
    t.advance(30s);
    CHECK(count("ollama: circuit breaker half-open") == 2);
    t.advance(1s);  // ready: the trial succeeded
    CHECK(count("ollama: circuit breaker closed: the trial succeeded") == 1);
    CHECK(count("ollama: circuit breaker") == 5);  // one line per transition, no more
    t.wind_down();
}

TEST_CASE("a breaker closed after reset_after of readiness says so") {
    auto spec = svc("ollama");
    spec.restart.backoff = {0ms, 0ms, 1.0, resilience::Jitter::none};
    spec.restart.circuit_breaker = {2, 30s, 2, 1};  // two successes to close: the trial leaves it half-open
    Story t({spec});
    for (int i = 0; i < 2; ++i) t.exit("ollama", ExitStatus::exited(1));
    t.advance(30s);
    t.advance(1s);  // ready after the trial; one success of two
    REQUIRE(t.s("ollama").breaker().state() == resilience::BreakerState::half_open);
    t.advance(1min);  // ready for reset_after
    CHECK(t.s("ollama").breaker().state() == resilience::BreakerState::closed);
    CHECK(std::count_if(t.world.logs.begin(), t.world.logs.end(), [](const std::string& l) {
              return l.find("ollama: circuit breaker closed: ready for 1m") != std::string::npos;
          }) == 1);
    t.wind_down();
}

TEST_CASE(
    "every transition is recorded for the journal: services with attempt and next attempt, capabilities, the mode") {
    config::CapabilitySpec cap;
    cap.name = "local-llm";
    cap.requires_services = {"web"};
    Story t({svc("web")}, {cap});
    t.advance(1s);
    t.exit("web", ExitStatus::exited(1));
    t.advance(50ms);
    using S = Transition::Subject;
    auto find = [&](S subject, const std::string& to) -> const Transition* {
        for (const auto& tr : t.world.transitions) {
            if (tr.subject == subject && tr.to == to) return &tr;
        }
        return nullptr;
    };
    const Transition* running = find(S::service, "running");
    REQUIRE(running != nullptr);
    CHECK(running->name == "web");
    CHECK(running->from == "waiting");
    const Transition* failed = find(S::service, "recovering");
    REQUIRE(failed != nullptr);
    CHECK(failed->from == "ready");
    CHECK(failed->reason == "exited with code 1");
    CHECK(failed->attempt == 0u);
    CHECK(failed->next_attempt_in == resilience::Duration(100ms));
    const Transition* full = find(S::mode, "full");
    REQUIRE(full != nullptr);
    CHECK(full->from == "starting");
    CHECK(find(S::mode, "degraded") != nullptr);
    const Transition* up = find(S::capability, "full");
    REQUIRE(up != nullptr);
    CHECK(up->name == "local-llm");
    const Transition* down = find(S::capability, "degraded");
    REQUIRE(down != nullptr);
    CHECK(down->reason == "web is recovering: exited with code 1");
    t.wind_down();
}

TEST_CASE("a failed attempt that leaves the state recovering is still one journal entry") {
    Story t({svc("docker")}, {}, {"docker"});
    t.advance(350ms);  // failures at 0, 100 and 300 ms
    const auto n = std::count_if(t.world.transitions.begin(), t.world.transitions.end(),
                                 [](const Transition& tr) { return tr.name == "docker" && tr.to == "recovering"; });
    CHECK(n == 3);
    CHECK(t.world.transitions.back().attempt == 2u);
    CHECK(t.world.transitions.back().reason == "executable not found: docker");
    t.wind_down();
}

TEST_CASE("the status model lists each service's dependencies with required, and an open breaker's next trial") {
    auto web = svc("web", {dep("db"), dep("cache", false)});
    web.restart.backoff = {0ms, 0ms, 1.0, resilience::Jitter::none};
    web.restart.circuit_breaker = {2, 30s, 1, 1};
    Story t({svc("db"), svc("cache"), web});
    t.advance(1s);  // db and cache ready: web starts
    REQUIRE(t.s("web").pid());
    t.exit("web", ExitStatus::exited(1));
    t.exit("web", ExitStatus::exited(1));  // the second failure opens the breaker
    t.advance(10s);
    StatusModel m = snapshot(*t.sup, t.world.now());
    REQUIRE(m.services.size() == 3);
    const ServiceStatus& w = m.services[2];
    CHECK(w.name == "web");
    using Dep = std::pair<std::string, bool>;
    CHECK(w.depends_on == std::vector<Dep>{{"db", true}, {"cache", false}});
    CHECK(m.services[0].depends_on.empty());
    CHECK(w.breaker == "open");
    CHECK(w.breaker_next_trial_in == 20s);
    CHECK_FALSE(m.services[0].breaker_next_trial_in);
    t.wind_down();
}

TEST_CASE("success_exit_codes: 143 after SIGTERM is a clean stop, not a failure") {
    auto jvm = svc("jvm");
    jvm.restart.policy = config::RestartPolicy::on_failure;
    jvm.success_exit_codes = {143};
    auto plain = svc("plain");
    plain.restart.policy = config::RestartPolicy::on_failure;
    Story t({jvm, plain});
    t.advance(2s);
    t.exit("jvm", ExitStatus::exited(143));
    CHECK(t.s("jvm").state() == State::stopped);
    CHECK(t.s("jvm").reason() == "exited with code 143 (a success exit code); restart policy is on-failure");
    t.exit("plain", ExitStatus::exited(143));
    CHECK(t.s("plain").state() == State::recovering);  // without it, 143 is a failure, retried
    t.wind_down();
}

TEST_CASE("on_exit: ignore and restart override the restart policy, success and failure apart") {
    auto once = svc("once");
    once.on_failure = config::ExitAction::ignore;  // policy always, but a failure is left alone
    auto again = svc("again");
    again.restart.policy = config::RestartPolicy::never;
    again.on_success = config::ExitAction::restart;  // a clean exit runs it again
    Story t({once, again});
    t.advance(2s);
    t.exit("once", ExitStatus::exited(1));
    CHECK(t.s("once").state() == State::failed);
    CHECK(t.s("once").reason().find("; on_exit: ignore") != std::string::npos);
    t.exit("again", ExitStatus::exited(0));
    CHECK(t.s("again").state() == State::recovering);
    t.advance(1s);
    CHECK(t.s("again").pid().has_value());
    t.wind_down();
}

TEST_CASE("on_exit: shutdown stops everything in order and mainstay exits with the service's code") {
    auto app = svc("app", {dep("db")});
    app.on_failure = config::ExitAction::shutdown;
    Story t({svc("db"), app});
    t.advance(3s);
    REQUIRE(t.s("app").state() == State::ready);
    t.exit("app", ExitStatus::exited(7));
    CHECK(t.s("app").state() == State::failed);
    CHECK(t.sup->shutting_down());
    CHECK(logged(t.world, "app: on_exit: shutdown: stopping everything; mainstay exits with 7"));
    CHECK(t.sup->exit_code() == 7);
    t.wind_down();
    CHECK(t.sup->exit_code() == 7);
}

namespace {

bool contains_text(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

config::ServiceSpec notifying(std::string name, std::optional<resilience::Duration> watchdog = std::nullopt) {
    auto s = svc(std::move(name));
    s.ready.notify = true;
    s.ready.watchdog = watchdog;
    return s;
}

supervisor::Notice said_ready() {
    supervisor::Notice n;
    n.ready = true;
    return n;
}

}  // namespace

TEST_CASE("ready: log_line: running until the line comes, whatever ready_after says, then ready") {
    auto web = svc("web");
    web.ready.log_line = "Listening on";
    Story t({web, svc("app", {dep("web")})});
    t.advance(10s);
    CHECK(t.s("web").state() == State::running);  // ready_after (1s) does not apply
    CHECK(t.s("app").state() == State::waiting);
    t.sup->on_notice(*t.s("web").pid(), said_ready());
    CHECK(t.s("web").state() == State::ready);
    t.advance(2s);
    CHECK(t.s("app").state() == State::ready);
    t.wind_down();
}

TEST_CASE("ready: notify: running and saying so until READY=1 and its STATUS= in the reason") {
    Story t({notifying("dockerd"), svc("app", {dep("dockerd")})});
    t.advance(10s);
    CHECK(t.s("dockerd").state() == State::running);
    CHECK(contains_text(t.s("dockerd").reason(), "waiting for READY=1"));
    CHECK(t.s("app").state() == State::waiting);
    supervisor::Notice status;
    status.status = "loading images";
    t.sup->on_notice(*t.s("dockerd").pid(), status);
    CHECK(contains_text(t.s("dockerd").reason(), "status: loading images"));
    t.sup->on_notice(12345, said_ready());  // not a service's process: nothing
    CHECK(t.s("dockerd").state() == State::running);
    t.sup->on_notice(*t.s("dockerd").pid(), said_ready());
    CHECK(t.s("dockerd").state() == State::ready);
    t.advance(2s);
    CHECK(t.s("app").state() == State::ready);
    status.status = "serving";
    t.sup->on_notice(*t.s("dockerd").pid(), status);
    CHECK(t.s("dockerd").reason() == "status: serving");
    t.wind_down();
}

TEST_CASE("ready: notify: STOPPING=1 takes the readiness away until it exits") {
    Story t({notifying("dockerd")});
    t.sup->on_notice(*t.s("dockerd").pid(), said_ready());
    REQUIRE(t.s("dockerd").state() == State::ready);
    supervisor::Notice stopping;
    stopping.stopping = true;
    t.sup->on_notice(*t.s("dockerd").pid(), stopping);
    CHECK(t.s("dockerd").state() == State::running);
    CHECK(contains_text(t.s("dockerd").reason(), "STOPPING=1"));
    t.sup->on_notice(*t.s("dockerd").pid(), said_ready());  // not again for this process
    CHECK(t.s("dockerd").state() == State::running);
    t.wind_down();
}

TEST_CASE("ready: notify with a watchdog: pings keep it, a missed one restarts it as a liveness failure") {
    Story t({notifying("dockerd", 30s)});
    const int first = *t.s("dockerd").pid();
    t.sup->on_notice(first, said_ready());
    supervisor::Notice ping;
    ping.watchdog = true;
    for (int i = 0; i < 6; ++i) {
        t.advance(20s);
        t.sup->on_notice(first, ping);
    }
    CHECK(t.s("dockerd").state() == State::ready);
    CHECK(t.s("dockerd").pid() == first);
    t.advance(31s);  // no ping
    CHECK(t.s("dockerd").state() == State::stopping);
    CHECK(contains_text(t.s("dockerd").reason(), "watchdog: no WATCHDOG=1 within 30s"));
    t.exit("dockerd", supervisor::ExitStatus::killed(SIGTERM));
    t.advance(1s);
    REQUIRE(t.s("dockerd").pid());
    CHECK(*t.s("dockerd").pid() != first);
    CHECK(t.s("dockerd").restarts() == 1);
    t.wind_down();
}

TEST_CASE("ready: notify with a watchdog: WATCHDOG=trigger is a liveness failure at once") {
    Story t({notifying("dockerd", 30s)});
    t.sup->on_notice(*t.s("dockerd").pid(), said_ready());
    supervisor::Notice trigger;
    trigger.watchdog_trigger = true;
    t.sup->on_notice(*t.s("dockerd").pid(), trigger);
    CHECK(t.s("dockerd").state() == State::stopping);
    CHECK(contains_text(t.s("dockerd").reason(), "WATCHDOG=trigger"));
    t.wind_down();
}

TEST_CASE("depends_on restart: true: the dependent restarts once per restart of its dependency") {
    auto restart_dep = dep("db");
    restart_dep.restart = true;
    Story t({svc("db"), svc("app", {restart_dep}), svc("plain", {dep("db")})});
    t.advance(3s);
    REQUIRE(t.s("app").state() == State::ready);
    REQUIRE(t.s("app").starts() == 1);
    t.exit("db", supervisor::ExitStatus::exited(1));  // crashes, restarts after its backoff
    t.advance(200ms);
    CHECK(t.s("app").starts() == 1);  // db is not ready again yet
    t.advance(2s);
    REQUIRE(t.s("db").state() == State::ready);
    CHECK(t.s("app").state() == State::stopping);
    CHECK(contains_text(t.s("app").reason(), "its dependency db restarted"));
    t.exit("app", supervisor::ExitStatus::killed(SIGTERM));
    t.advance(3s);
    CHECK(t.s("app").state() == State::ready);
    CHECK(t.s("app").starts() == 2);
    CHECK(t.s("plain").starts() == 1);  // without restart: true it stays
    t.advance(1min);
    CHECK(t.s("app").starts() == 2);  // once per restart, not a storm
    CHECK(t.sup->control(supervisor::Control::restart, "db").empty());
    t.exit("db", supervisor::ExitStatus::killed(SIGTERM));
    t.advance(3s);
    REQUIRE(t.s("db").state() == State::ready);
    t.exit("app", supervisor::ExitStatus::killed(SIGTERM));
    t.advance(3s);
    CHECK(t.s("app").starts() == 3);
    t.advance(1min);
    CHECK(t.s("app").starts() == 3);
    t.wind_down();
}
