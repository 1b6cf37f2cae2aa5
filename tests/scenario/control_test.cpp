// `mainstay start|stop|restart|resume NAME` on the supervisor (SPEC §1): stop keeps a service
// stopped until start, restart and resume skip the backoff wait. Fake world, fake clock.
#include <doctest/doctest.h>

#include <csignal>

#include "story.hpp"

using namespace mainstay;
using namespace mainstay::supervisor;
using namespace mainstay::testing;
using namespace std::chrono_literals;

TEST_CASE("stop keeps a service stopped until start, its dependencies untouched") {
    Story t({svc("db"), svc("web", {dep("db")})});
    t.advance(2s);
    REQUIRE(t.s("web").state() == State::ready);
    const int web = *t.s("web").pid();
    CHECK(t.sup->control(Control::stop, "web").empty());
    CHECK(t.s("web").state() == State::stopping);
    t.world.exit(*t.sup, web, ExitStatus::killed(SIGTERM));
    CHECK(t.s("web").state() == State::stopped);
    t.advance(1h);  // nothing restarts it
    CHECK(t.world.starts_of("web").size() == 1);
    CHECK(t.s("db").state() == State::ready);
    CHECK(t.sup->control(Control::start, "web").empty());
    CHECK(t.s("web").state() == State::running);
    CHECK(t.world.starts_of("web").size() == 2);
    t.advance(1s);
    CHECK(t.s("web").state() == State::ready);
    t.wind_down();
}

TEST_CASE("start of a service whose dependency is down waits for it") {
    Story t({svc("db"), svc("web", {dep("db")})});
    t.advance(2s);
    REQUIRE(t.sup->control(Control::stop, "web").empty());
    t.world.exit(*t.sup, *t.s("web").pid(), ExitStatus::killed(SIGTERM));
    REQUIRE(t.sup->control(Control::stop, "db").empty());
    t.world.exit(*t.sup, *t.s("db").pid(), ExitStatus::killed(SIGTERM));
    CHECK(t.sup->control(Control::start, "web").empty());
    CHECK((t.s("web").state() == State::blocked || t.s("web").state() == State::waiting));
    CHECK(t.sup->control(Control::start, "db").empty());
    t.advance(1s);  // db ready: web starts by itself
    CHECK(t.s("web").state() == State::running);
    t.wind_down();
}

TEST_CASE("restart of a running service stops it and starts it at once, without the backoff") {
    auto spec = svc("web");
    spec.restart.backoff = {10s, 1min, 2.0, resilience::Jitter::none};
    Story t({spec});
    t.advance(1s);
    const int first = *t.s("web").pid();
    CHECK(t.sup->control(Control::restart, "web").empty());
    CHECK(t.s("web").state() == State::stopping);
    t.world.exit(*t.sup, first, ExitStatus::killed(SIGTERM));
    CHECK(t.s("web").state() == State::running);  // at once, not after 10 s
    CHECK(t.world.starts_of("web").size() == 2);
    CHECK(t.s("web").restarts() == 1);
    t.wind_down();
}

TEST_CASE("restart and resume of a service waiting on its backoff or paused try again at once") {
    auto spec = svc("web");
    spec.restart.backoff = {10s, 1min, 2.0, resilience::Jitter::none};
    spec.recovery.max_attempts = 1;
    Story t({spec});
    t.exit("web", ExitStatus::exited(1));
    REQUIRE(t.s("web").state() == State::recovering);
    CHECK(t.sup->control(Control::restart, "web").empty());
    CHECK(t.s("web").state() == State::running);  // not after 10 s
    t.exit("web", ExitStatus::exited(1));
    REQUIRE(t.s("web").state() == State::paused);
    CHECK(t.sup->control(Control::resume, "web").empty());
    CHECK(t.s("web").state() == State::running);
    t.wind_down();
}

TEST_CASE("control answers why not: an unknown name, resume of a service not waiting, during shutdown") {
    Story t({svc("web")});
    CHECK(t.sup->control(Control::start, "nope") == "no service named nope");
    CHECK(t.sup->control(Control::resume, "web") == "web is running: nothing to resume");
    CHECK(t.sup->control(Control::start, "web") == "web is already running");
    t.sup->shutdown();
    CHECK(t.sup->control(Control::start, "web") == "mainstay is shutting down");
    t.wind_down();
}

TEST_CASE("start runs a failed oneshot again, and its dependents wait for it to complete again") {
    auto job = svc("migrate");
    job.kind = config::Kind::oneshot;
    job.restart.policy = config::RestartPolicy::never;
    auto web = svc("web", {dep("migrate")});
    web.depends_on[0].condition = config::Condition::completed;
    Story t({job, web});
    t.exit("migrate", ExitStatus::exited(1));
    REQUIRE(t.s("migrate").state() == State::failed);
    CHECK(t.s("web").state() == State::blocked);
    CHECK(t.sup->control(Control::start, "migrate").empty());
    CHECK(t.s("migrate").state() == State::running);  // at once: its dependencies are met
    CHECK(t.world.starts_of("migrate").size() == 2);
    CHECK(t.s("web").state() == State::waiting);  // gated again by the rerun
    t.exit("migrate", ExitStatus::exited(0));
    CHECK(t.s("migrate").state() == State::completed);
    CHECK(t.s("web").state() == State::running);
    t.wind_down();
}

TEST_CASE("start and restart run a completed oneshot again") {
    auto job = svc("migrate");
    job.kind = config::Kind::oneshot;
    Story t({job});
    t.exit("migrate", ExitStatus::exited(0));
    REQUIRE(t.s("migrate").state() == State::completed);
    CHECK(t.sup->control(Control::start, "migrate").empty());
    CHECK(t.s("migrate").state() == State::running);
    t.exit("migrate", ExitStatus::exited(0));
    REQUIRE(t.s("migrate").state() == State::completed);
    CHECK(t.sup->control(Control::restart, "migrate").empty());
    CHECK(t.s("migrate").state() == State::running);
    CHECK(t.world.starts_of("migrate").size() == 3);
    t.exit("migrate", ExitStatus::exited(0));
    t.wind_down();
}

TEST_CASE("start and restart run a process with policy never that exited again, stopped or failed") {
    auto a = svc("a");
    a.restart.policy = config::RestartPolicy::never;
    auto b = svc("b");
    b.restart.policy = config::RestartPolicy::never;
    Story t({a, b});
    t.exit("a", ExitStatus::exited(0));
    t.exit("b", ExitStatus::exited(2));
    REQUIRE(t.s("a").state() == State::stopped);
    REQUIRE(t.s("b").state() == State::failed);
    CHECK(t.sup->control(Control::start, "a").empty());
    CHECK(t.sup->control(Control::restart, "b").empty());
    CHECK(t.s("a").state() == State::running);
    CHECK(t.s("b").state() == State::running);
    t.advance(1s);
    CHECK(t.s("a").state() == State::ready);
    CHECK(t.s("b").state() == State::ready);
    t.wind_down();
}

TEST_CASE("start and restart of a service failed by a permanent exit code run it again") {
    auto spec = svc("web");
    spec.restart.permanent_exit_codes = {78};
    Story t({spec});
    t.exit("web", ExitStatus::exited(78));
    REQUIRE(t.s("web").state() == State::failed);
    CHECK(t.sup->control(Control::restart, "web").empty());
    CHECK(t.s("web").state() == State::running);
    t.wind_down();
}

TEST_CASE("restart of a service stopped by hand starts it, a second start says it is already running") {
    Story t({svc("web")});
    t.advance(1s);
    const int first = *t.s("web").pid();
    REQUIRE(t.sup->control(Control::stop, "web").empty());
    t.world.exit(*t.sup, first, ExitStatus::killed(SIGTERM));
    REQUIRE(t.s("web").state() == State::stopped);
    CHECK(t.sup->control(Control::restart, "web").empty());
    CHECK(t.s("web").state() == State::running);
    CHECK(t.sup->control(Control::start, "web") == "web is already running");
    t.wind_down();
}
