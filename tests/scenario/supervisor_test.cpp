// Whole-supervisor stories on the fake world, part one: starts, restarts, dependencies and
// shutdown. No processes, no sleeping: time is advanced by hand.
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
    FakeObserver seen;
    resilience::EventLog events;
    Supervisor sup(c, world, seen, 1, &events);
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
