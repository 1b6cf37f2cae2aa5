// Supervisor stories on the fake world, part three: what an exit means (success exit codes,
// on_exit), the lines failures and breakers log, the signals handled, readiness a service pushes
// (log line, sd_notify, watchdog) and dependents restarted with their dependency.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>

#include "story.hpp"
#include "supervisor/status_model.hpp"

using namespace mainstay;
using namespace mainstay::supervisor;
using namespace mainstay::testing;
using namespace std::chrono_literals;

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
    const auto logs = st.seen.logs.size();
    st.sup->on_timer(kStartupTimer);  // late: it was cancelled, but had already fired
    CHECK(st.sup->startup_duration() == duration);
    CHECK(st.seen.logs.size() == logs);  // no "startup.timeout reached" line
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
        return std::count_if(t.seen.logs.begin(), t.seen.logs.end(),
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
        return std::count_if(t.seen.logs.begin(), t.seen.logs.end(),
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
    CHECK(std::count_if(t.seen.logs.begin(), t.seen.logs.end(), [](const std::string& l) {
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
        for (const auto& tr : t.seen.transitions) {
            if (tr.subject == subject && tr.to.name() == to) return &tr;
        }
        return nullptr;
    };
    const Transition* running = find(S::service, "running");
    REQUIRE(running != nullptr);
    CHECK(running->name == "web");
    CHECK(running->from == State::waiting);
    const Transition* failed = find(S::service, "recovering");
    REQUIRE(failed != nullptr);
    CHECK(failed->from == State::ready);
    CHECK(failed->reason == "exited with code 1");
    CHECK(failed->attempt == 0u);
    CHECK(failed->next_attempt_in == resilience::Duration(100ms));
    const Transition* full = find(S::mode, "full");
    REQUIRE(full != nullptr);
    CHECK(full->from == Mode::starting);
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
    const auto n = std::count_if(t.seen.transitions.begin(), t.seen.transitions.end(), [](const Transition& tr) {
        return tr.name == "docker" && tr.to == State::recovering;
    });
    CHECK(n == 3);
    CHECK(t.seen.transitions.back().attempt == 2u);
    CHECK(t.seen.transitions.back().reason == "executable not found: docker");
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
    CHECK(logged(t.seen, "app: on_exit: shutdown: stopping everything; mainstay exits with 7"));
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
