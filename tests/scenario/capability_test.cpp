// Capabilities and the outside world agree (SPEC §4): what a capability's hooks set outside
// mainstay matches the state mainstay reports, at the end of the startup phase and at shutdown.
// Each story ends with the wind-down check that nothing is left armed.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>

#include "story.hpp"
#include "supervisor/status_model.hpp"

using namespace mainstay;
using namespace mainstay::supervisor;
using namespace mainstay::testing;
using namespace std::chrono_literals;
using resilience::CapabilityState;

namespace {

config::CapabilitySpec llm(resilience::Duration hook_timeout = 30s) {
    config::CapabilitySpec c;
    c.name = "local-llm";
    c.requires_services = {"ollama"};
    c.activate = config::Argv{"llm-mode", "local"};
    c.deactivate = config::Argv{"llm-mode", "cloud"};
    c.monitor_interval = 10s;
    c.hook_retry.timeout = hook_timeout;
    return c;
}

std::size_t hooks_named(const FakeWorld& w, const std::string& name) {
    return static_cast<std::size_t>(
        std::count_if(w.helpers.begin(), w.helpers.end(), [&](const FakeWorld::Start& h) { return h.name == name; }));
}

// Brings the capability of a fresh Story to FULL: ollama ready after 1 s, activate succeeds.
void make_full(Story& t) {
    t.advance(1s);
    REQUIRE(t.world.helpers.size() == 1);
    REQUIRE(t.world.helpers.back().name == "local-llm/activate");
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));
    REQUIRE(t.sup->capabilities()[0]->state() == CapabilityState::full);
}

}  // namespace

TEST_CASE("a capability goes full when its service is ready, running activate once, and back with deactivate") {
    Story t({svc("ollama")}, {llm()});
    REQUIRE(t.sup->capabilities().size() == 1);
    const Capability& cap = *t.sup->capabilities()[0];
    CHECK(cap.state() == resilience::CapabilityState::degraded);
    CHECK(t.world.helpers.empty());
    t.advance(1s);  // ollama ready
    REQUIRE(t.world.helpers.size() == 1);
    CHECK(t.world.helpers[0].name == "local-llm/activate");
    CHECK(cap.state() == resilience::CapabilityState::upgrading);
    t.world.exit(*t.sup, t.world.helpers[0].pid, ExitStatus::exited(0));
    CHECK(cap.state() == resilience::CapabilityState::full);
    CHECK(logged(t.seen, "capability local-llm: full"));
    t.advance(1min);  // monitored: still full, activate not run again
    CHECK(t.world.helpers.size() == 1);
    t.exit("ollama", ExitStatus::killed(SIGKILL));
    CHECK(cap.state() == resilience::CapabilityState::degraded);
    REQUIRE(t.world.helpers.size() == 2);
    CHECK(t.world.helpers[1].name == "local-llm/deactivate");
    t.world.exit(*t.sup, t.world.helpers[1].pid, ExitStatus::exited(0));
    CHECK(t.world.helpers.size() == 2);
    t.wind_down();
}

TEST_CASE("a capability still degraded at the end of the startup phase runs deactivate once") {
    auto ollama = svc("ollama");
    ollama.restart.backoff = {1min, 1min, 1.0, resilience::Jitter::none};
    Story t({ollama}, {llm()}, {"ollama"});
    // ollama failed its first attempt: the startup phase is over, the capability DEGRADED.
    REQUIRE(t.sup->startup_done());
    const Capability& cap = *t.sup->capabilities()[0];
    CHECK(cap.state() == CapabilityState::degraded);
    REQUIRE(t.world.helpers.size() == 1);  // a marker left by a crashed run is cleared
    CHECK(t.world.helpers[0].name == "local-llm/deactivate");
    t.world.exit(*t.sup, t.world.helpers[0].pid, ExitStatus::exited(0));
    t.advance(30s);
    CHECK(t.world.helpers.size() == 1);  // once
    CHECK(cap.state() == CapabilityState::degraded);
    t.world.missing.clear();
    t.advance(31s);  // ollama restarted after its 1 min backoff, ready 1 s later
    REQUIRE(t.s("ollama").state() == State::ready);
    REQUIRE(t.world.helpers.size() == 2);
    CHECK(t.world.helpers[1].name == "local-llm/activate");
    t.world.exit(*t.sup, t.world.helpers[1].pid, ExitStatus::exited(0));
    CHECK(cap.state() == CapabilityState::full);
    t.wind_down();
}

TEST_CASE("capabilities on their way up when the startup phase ends run no deactivate") {
    auto slow = svc("slow");
    slow.ready_after = 5s;
    auto other = llm();
    other.name = "other";
    other.requires_services = {"slow"};
    other.activate.reset();  // nothing to run on the way up: FULL at once
    Story t({svc("ollama"), slow}, {llm(), other});
    CHECK(t.world.helpers.empty());  // the startup phase is still on
    t.advance(1s);                   // ollama ready: activate (upgrading) at once
    REQUIRE(t.world.helpers.size() == 1);
    CHECK(t.world.helpers[0].name == "local-llm/activate");
    t.advance(4s);  // slow ready: the startup phase ends; `other` goes FULL, nothing to clear
    REQUIRE(t.sup->startup_done());
    CHECK(t.world.helpers.size() == 1);
    CHECK(hooks_named(t.world, "local-llm/deactivate") == 0);
    t.world.exit(*t.sup, t.world.helpers[0].pid, ExitStatus::exited(0));
    CHECK(t.sup->capabilities()[0]->state() == CapabilityState::full);
    t.wind_down();
}

TEST_CASE("at shutdown a FULL capability runs deactivate before any service stops, then the services stop") {
    Story t({svc("ollama"), svc("web", {dep("ollama")})}, {llm()});
    make_full(t);
    t.advance(1s);  // web ready too
    const int ollama = *t.s("ollama").pid();
    const int web = *t.s("web").pid();
    t.sup->shutdown();
    REQUIRE(t.world.helpers.size() == 2);
    CHECK(t.world.helpers[1].name == "local-llm/deactivate");
    CHECK(t.sup->capabilities()[0]->state() == CapabilityState::degraded);
    CHECK_FALSE(t.world.signalled(web, SIGTERM));
    CHECK_FALSE(t.world.signalled(ollama, SIGTERM));
    t.advance(10s);  // the hook is still running: the services wait
    CHECK_FALSE(t.world.signalled(web, SIGTERM));
    t.world.exit(*t.sup, t.world.helpers[1].pid, ExitStatus::exited(0));
    CHECK(t.world.signalled(web, SIGTERM));  // dependents first, as always
    CHECK_FALSE(t.world.signalled(ollama, SIGTERM));
    t.exit("web", ExitStatus::killed(SIGTERM));
    CHECK(t.world.signalled(ollama, SIGTERM));
    t.wind_down();
    CHECK(t.world.helpers.size() == 2);
}

TEST_CASE("a deactivate that hangs at shutdown is killed at its hook timeout, and shutdown goes on") {
    Story t({svc("ollama")}, {llm(5s)});
    make_full(t);
    const int ollama = *t.s("ollama").pid();
    t.sup->shutdown();
    REQUIRE(t.world.helpers.size() == 2);
    const int hook = t.world.helpers[1].pid;
    t.advance(4999ms);
    CHECK_FALSE(t.world.signalled(hook, SIGKILL));
    CHECK_FALSE(t.world.signalled(ollama, SIGTERM));
    t.advance(1ms);
    CHECK(t.world.signalled(hook, SIGKILL));
    t.world.exit(*t.sup, hook, ExitStatus::killed(SIGKILL));
    CHECK(logged(t.seen, "capability local-llm: deactivate at shutdown: timed out after 5s"));
    CHECK(t.world.signalled(ollama, SIGTERM));
    t.wind_down();
}

TEST_CASE("an activate still running at shutdown is killed, then deactivate runs before the services stop") {
    Story t({svc("ollama")}, {llm()});
    t.advance(1s);
    REQUIRE(t.world.helpers.size() == 1);
    const int activate = t.world.helpers[0].pid;
    CHECK(t.sup->capabilities()[0]->state() == CapabilityState::upgrading);
    const int ollama = *t.s("ollama").pid();
    t.sup->shutdown();
    CHECK(t.world.signalled(activate, SIGKILL));
    CHECK(t.world.helpers.size() == 1);  // deactivate waits for the killed activate to be gone
    CHECK_FALSE(t.world.signalled(ollama, SIGTERM));
    t.world.exit(*t.sup, activate, ExitStatus::killed(SIGKILL));
    REQUIRE(t.world.helpers.size() == 2);
    CHECK(t.world.helpers[1].name == "local-llm/deactivate");
    CHECK_FALSE(t.world.signalled(ollama, SIGTERM));
    t.world.exit(*t.sup, t.world.helpers[1].pid, ExitStatus::exited(0));
    CHECK(t.world.signalled(ollama, SIGTERM));
    t.wind_down();
}

TEST_CASE("a DEGRADED capability runs nothing at shutdown, a second stop signal kills a running deactivate") {
    SUBCASE("degraded") {
        Story t({svc("ollama")}, {llm()});
        make_full(t);
        t.exit("ollama", ExitStatus::killed(SIGKILL));  // regression: deactivate
        REQUIRE(t.world.helpers.size() == 2);
        t.world.exit(*t.sup, t.world.helpers[1].pid, ExitStatus::exited(0));
        t.sup->shutdown();
        CHECK(t.world.helpers.size() == 2);
        t.wind_down();
    }
    SUBCASE("second stop signal") {
        Story t({svc("ollama")}, {llm()});
        make_full(t);
        t.sup->on_signal(SIGTERM);
        REQUIRE(t.world.helpers.size() == 2);
        t.sup->on_signal(SIGTERM);
        CHECK(t.world.signalled(t.world.helpers[1].pid, SIGKILL));
        CHECK(t.world.signalled(*t.s("ollama").pid(), SIGKILL));
        t.wind_down();
    }
}

TEST_CASE("a capability's degraded line says why: which required service, its state and reason") {
    Story t({svc("ollama")}, {llm()});
    make_full(t);
    t.exit("ollama", ExitStatus::killed(SIGKILL));
    CHECK(logged(t.seen, "capability local-llm: degraded (ollama is recovering: killed by SIGKILL)"));
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));  // deactivate
    t.wind_down();
}

TEST_CASE("the mode line lists the capabilities and is printed again, at most every 5s, when the reasons change") {
    Story t({svc("web"), svc("ollama")}, {llm()}, {"ollama"});
    auto mode_lines = [&] {
        std::vector<std::string> out;
        for (const auto& l : t.seen.logs) {
            if (l.rfind("mode: ", 0) == 0) out.push_back(l);
        }
        return out;
    };
    t.advance(1s);  // web ready, ollama failed its first attempt: the startup phase ends degraded
    REQUIRE(mode_lines().size() == 1);
    CHECK(mode_lines()[0] ==
          "mode: degraded: ollama recovering (executable not found: ollama); "
          "capabilities: local-llm degraded (ollama is recovering: executable not found: ollama)");
    REQUIRE(t.world.helpers.back().name == "local-llm/deactivate");  // its marker cleared (SPEC §4)
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));
    CHECK(mode_lines().size() == 1);  // nothing changed
    t.world.missing.clear();          // ollama can start: at its next attempt it runs
    t.advance(2s);
    CHECK(t.s("ollama").state() == State::ready);
    // ollama is back, the capability on its way up: still degraded (full needs every capability
    // FULL, SPEC §5), and the new reasons wait for the 5s between lines.
    CHECK(t.sup->mode() == Mode::degraded);
    CHECK(mode_lines().size() == 1);
    REQUIRE(t.world.helpers.back().name == "local-llm/activate");
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));  // activate done: FULL
    // Now the mode is full: printed at once.
    REQUIRE(mode_lines().size() == 2);
    CHECK(mode_lines()[1] == "mode: full; capabilities: local-llm full");
    t.advance(1min);  // nothing changed: nothing printed
    CHECK(mode_lines().size() == 2);
    t.wind_down();
}

TEST_CASE("the status model says why a capability is degraded, and nothing once it is full") {
    Story t({svc("ollama")}, {llm()});
    StatusModel m = snapshot(*t.sup, t.world.now());
    REQUIRE(m.capabilities.size() == 1);
    CHECK(m.capabilities[0].state == CapabilityState::degraded);
    REQUIRE(t.s("ollama").pid());
    CHECK(m.capabilities[0].reason == "ollama is running: pid " + std::to_string(*t.s("ollama").pid()));
    make_full(t);
    m = snapshot(*t.sup, t.world.now());
    CHECK(m.capabilities[0].state == CapabilityState::full);
    CHECK(m.capabilities[0].reason.empty());
    t.exit("ollama", ExitStatus::killed(SIGKILL));
    m = snapshot(*t.sup, t.world.now());
    CHECK(m.capabilities[0].state == CapabilityState::degraded);
    CHECK(m.capabilities[0].reason == "ollama is recovering: killed by SIGKILL");
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));  // deactivate
    t.wind_down();
}

TEST_CASE("a capability whose activate fails reads degraded with the hook's error as its reason") {
    Story t({svc("ollama")}, {llm()});
    t.advance(1s);
    REQUIRE(t.world.helpers.size() == 1);
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(3));  // activate fails
    StatusModel m = snapshot(*t.sup, t.world.now());
    CHECK(m.capabilities[0].state == CapabilityState::degraded);
    CHECK(m.capabilities[0].reason == "activate: exited with code 3");
    t.wind_down();
}

TEST_CASE("activate exiting with a permanent exit code leaves the capability degraded, untried until resume") {
    auto cap = llm();
    cap.permanent_exit_codes = {77};
    Story t({svc("ollama")}, {cap});
    t.advance(1s);  // ollama ready: activate
    REQUIRE(hooks_named(t.world, "local-llm/activate") == 1);
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(77));
    const Capability& c = *t.sup->capabilities()[0];
    CHECK(c.state() == CapabilityState::degraded);
    CHECK(c.reason().find(
              "exited with code 77 (a permanent exit code): not tried again until mainstay resume local-llm") !=
          std::string::npos);
    t.advance(1h);  // no check, no activate: retrying cannot fix it
    CHECK(hooks_named(t.world, "local-llm/activate") == 1);
    CHECK(t.sup->control(Control::restart, "local-llm") == "local-llm is a capability: only resume applies to it");
    CHECK(t.sup->all_for(Control::resume) == std::vector<std::string>{"local-llm"});  // resume --all takes it
    CHECK(t.sup->control(Control::resume, "local-llm").empty());
    CHECK(hooks_named(t.world, "local-llm/activate") == 2);  // checked and activated again at once
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));
    CHECK(c.state() == CapabilityState::full);
    CHECK(t.sup->control(Control::resume, "local-llm") == "capability local-llm is full: nothing to resume");
    t.wind_down();
}

TEST_CASE("activate exiting with another code is retried with backoff as before") {
    auto cap = llm();
    cap.permanent_exit_codes = {77};
    cap.hook_retry.backoff = {1s, 1s, 1.0, resilience::Jitter::none};
    Story t({svc("ollama")}, {cap});
    t.advance(1s);
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(1));
    t.advance(2s);
    CHECK(hooks_named(t.world, "local-llm/activate") == 2);
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));
    t.wind_down();
}

namespace {

// local (ollama) -> node (the GPU node) -> cloud (the floor).
config::CapabilitySpec tiered_llm() {
    config::CapabilitySpec c;
    c.name = "llm";
    auto tier = [](std::string name, std::vector<std::string> requires_services) {
        config::TierSpec t;
        t.name = name;
        t.requires_services = std::move(requires_services);
        t.activate = config::Argv{"llm-mode", name};
        return t;
    };
    c.tiers = {tier("local", {"ollama"}), tier("node", {"node"}), tier("cloud", {})};
    c.monitor_interval = 10s;
    return c;
}

// The last hook started, which must be `name`; it exits with `code`.
void finish_hook(Story& t, const std::string& name, int code = 0) {
    REQUIRE_FALSE(t.world.helpers.empty());
    REQUIRE(t.world.helpers.back().name == name);
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(code));
}

}  // namespace

TEST_CASE("tiers: the best available tier is active, moving up and down as services come and go") {
    Story t({svc("ollama"), svc("node")}, {tiered_llm()});
    const Capability& cap = *t.sup->capabilities()[0];
    // Nothing is ready yet: the floor.
    finish_hook(t, "llm/cloud/activate");
    CHECK(cap.tier() == "cloud");
    CHECK(cap.state() == CapabilityState::degraded);
    CHECK(logged(t.seen, "capability llm: degraded, tier cloud; local: ollama is"));
    t.advance(1s);  // both ready: straight to the best
    finish_hook(t, "llm/local/activate");
    CHECK(cap.tier() == "local");
    CHECK(cap.state() == CapabilityState::full);
    CHECK(logged(t.seen, "capability llm: full, tier local"));
    CHECK(hooks_named(t.world, "llm/node/activate") == 0);  // never needed
    // ollama crashes: down one step, to node.
    t.exit("ollama", ExitStatus::killed(SIGKILL));
    finish_hook(t, "llm/node/activate");
    CHECK(cap.tier() == "node");
    CHECK(cap.state() == CapabilityState::degraded);
    const auto better = cap.better_tiers();
    REQUIRE(better.size() == 1);
    CHECK(better[0].first == "local");
    CHECK(better[0].second.rfind("ollama is", 0) == 0);
    // ollama back: up again.
    t.advance(2s);
    finish_hook(t, "llm/local/activate");
    CHECK(cap.tier() == "local");
    CHECK(hooks_named(t.world, "llm/local/activate") == 2);
    t.wind_down();
}

TEST_CASE("tiers: a failed activate skips that tier until its next check") {
    Story t({svc("ollama"), svc("node")}, {tiered_llm()});
    const Capability& cap = *t.sup->capabilities()[0];
    finish_hook(t, "llm/cloud/activate");
    t.advance(1s);
    finish_hook(t, "llm/local/activate", 3);  // local fails to activate
    // node is next: it activates, cloud steps aside.
    finish_hook(t, "llm/node/activate");
    CHECK(cap.tier() == "node");
    CHECK(cap.better_tiers().at(0).second == "activate: exited with code 3");
    // At local's next check it is tried again, and wins.
    t.advance(30s);
    finish_hook(t, "llm/local/activate");
    CHECK(cap.tier() == "local");
    t.wind_down();
}

TEST_CASE("tiers: downgrade holds a tier until upgrade, in status and the events") {
    Story t({svc("ollama"), svc("node")}, {tiered_llm()});
    Capability& cap = *t.sup->capabilities()[0];
    finish_hook(t, "llm/cloud/activate");
    t.advance(1s);
    finish_hook(t, "llm/local/activate");
    REQUIRE(cap.tier() == "local");
    CHECK(cap.downgrade(t.world, std::string("nowhere")) ==
          "capability llm has no tier 'nowhere' (its tiers: local, node, cloud)");
    CHECK(cap.downgrade(t.world, std::string("cloud")).empty());
    finish_hook(t, "llm/cloud/activate");
    CHECK(cap.tier() == "cloud");
    CHECK(cap.held());
    CHECK(cap.held_at() == "cloud");
    CHECK(cap.reason() == "tier cloud; local: held at tier cloud by mainstay downgrade");
    CHECK(logged(t.seen, "capability llm: held at tier cloud by mainstay downgrade (until mainstay upgrade)"));
    t.advance(1min);  // held: the better tiers are not tried
    CHECK(cap.tier() == "cloud");
    CHECK(cap.upgrade(t.world).empty());
    finish_hook(t, "llm/local/activate");
    CHECK(cap.tier() == "local");
    CHECK_FALSE(cap.held());
    // Without --to: one step down from the active tier.
    CHECK(cap.downgrade(t.world, std::nullopt).empty());
    finish_hook(t, "llm/node/activate");
    CHECK(cap.tier() == "node");
    t.wind_down();
}
