// Supervisor stories on the fake world, part two: probes (startup, readiness, liveness), the
// startup phase and the mode, the status model. Each ends with its leak check (wind_down).
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>

#include "story.hpp"
#include "supervisor/status_model.hpp"

using namespace mainstay;
using namespace mainstay::supervisor;
using namespace mainstay::testing;
using namespace std::chrono_literals;

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
        logged(t.seen, "mode: degraded: docker recovering (exited with code 1); hard blocked (docker is recovering)"));
    t.world.missing.clear();
    t.advance(9s);  // docker's next attempt, 10 s after its failure
    CHECK(t.s("docker").state() == State::running);
    t.advance(1s);
    CHECK(t.s("docker").state() == State::ready);
    CHECK(t.s("hard").state() == State::running);  // started by itself, at once
    t.advance(1s);
    CHECK(t.sup->mode() == Mode::full);
    CHECK(logged(t.seen, "mode: full"));
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
    CHECK(logged(t.seen, "startup.timeout (1m) reached"));
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
    CHECK(logged(t.seen, "mode: critical: core failed (exited with code 78 (a permanent exit code))"));
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
    REQUIRE(t.seen.startups.size() == 1);
    CHECK(t.seen.startups[0] == "mode: full");
    CHECK_FALSE(t.sup->shutting_down());
    t.exit("core", ExitStatus::exited(78));
    CHECK(t.sup->mode() == Mode::stopping);
    CHECK(t.sup->shutting_down());
    CHECK(t.sup->exit_code() == 1);
    CHECK(t.seen.startups.size() == 1);
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
    CHECK(logged(st.seen, "received SIGUSR1: passed on to 1 service (forward_signals)"));
    CHECK(logged(st.seen, "received SIGUSR2: passed on to 0 services (forward_signals)"));
    st.sup->on_signal(SIGHUP);
    CHECK(st.world.reloads == 1);  // the runtime reads the configuration again
    CHECK(st.s("a").state() == State::running);
    CHECK(std::any_of(st.seen.logs.begin(), st.seen.logs.end(),
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
