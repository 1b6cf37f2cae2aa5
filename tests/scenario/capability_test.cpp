// Capabilities at run time: DEGRADED -> UPGRADING -> FULL and back, running their hooks.
// Each story ends with the wind-down check that nothing is left armed.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>

#include "story.hpp"

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
    CHECK(logged(t.world, "capability local-llm: full"));
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
