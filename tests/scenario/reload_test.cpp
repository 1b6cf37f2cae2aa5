// Reload on the supervisor (SPEC §4): added services start, removed ones stop (dependents
// first), changed ones restart under their new definition once the old process is gone, and
// every other service keeps its process. Fake world, fake clock; the diffs are written by hand
// (config/diff has tests of its own).
#include <doctest/doctest.h>

#include <csignal>

#include "story.hpp"

using namespace mainstay;
using namespace mainstay::supervisor;
using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

config::Config with(std::vector<config::ServiceSpec> services) {
    config::Config c;
    c.services = std::move(services);
    return c;
}

}  // namespace

TEST_CASE("reload adds a service: it starts, the others keep their process") {
    Story t({svc("db"), svc("web", {dep("db")})});
    t.advance(3s);
    const int db = *t.s("db").pid(), web = *t.s("web").pid();
    config::ConfigDiff d;
    d.added_services = {"cache"};
    d.unchanged_services = {"db", "web"};
    const auto next = with({svc("db"), svc("web", {dep("db")}), svc("cache", {dep("db")})});
    CHECK(t.sup->apply(next, d).empty());
    CHECK(t.s("cache").state() == State::running);
    CHECK(*t.s("db").pid() == db);
    CHECK(*t.s("web").pid() == web);
    CHECK(t.world.starts.size() == 3);
    t.advance(1s);
    CHECK(t.sup->mode() == Mode::full);
    t.wind_down();
}

TEST_CASE("reload removes services: dependents first, then their dependency, then they are gone") {
    Story t({svc("db"), svc("web", {dep("db")}), svc("other")});
    t.advance(3s);
    const int db = *t.s("db").pid(), web = *t.s("web").pid(), other = *t.s("other").pid();
    const Id db_id = t.id("db");
    config::ConfigDiff d;
    d.removed_services = {"db", "web"};
    d.unchanged_services = {"other"};
    CHECK(t.sup->apply(with({svc("other")}), d).empty());
    CHECK(t.sup->find("web") == nullptr);
    CHECK(t.world.signalled(web, SIGTERM));
    CHECK_FALSE(t.world.signalled(db, SIGTERM));  // not before web is gone
    CHECK(t.sup->retiring() == 2);
    t.world.exit(*t.sup, web, ExitStatus::killed(SIGTERM));
    CHECK(t.world.signalled(db, SIGTERM));
    t.world.exit(*t.sup, db, ExitStatus::killed(SIGTERM));
    CHECK(t.sup->retiring() == 0);
    CHECK(std::find(t.world.forgotten.begin(), t.world.forgotten.end(), db_id) != t.world.forgotten.end());
    CHECK(*t.s("other").pid() == other);
    CHECK(t.sup->mode() == Mode::full);
    t.wind_down();
}

TEST_CASE("reload restarts a changed service once its old process is gone, its dependent untouched") {
    Story t({svc("db"), svc("web", {dep("db")})});
    t.advance(3s);
    const int db = *t.s("db").pid(), web = *t.s("web").pid();
    auto db2 = svc("db");
    db2.command = {"db", "--new"};
    config::ConfigDiff d;
    d.changed_services = {"db"};
    d.unchanged_services = {"web"};
    CHECK(t.sup->apply(with({db2, svc("web", {dep("db")})}), d).empty());
    CHECK(t.world.signalled(db, SIGTERM));
    CHECK(t.world.starts_of("db").size() == 1);  // not before the old one has exited
    CHECK(t.s("db").state() == State::waiting);
    t.world.exit(*t.sup, db, ExitStatus::killed(SIGTERM));
    REQUIRE(t.world.starts_of("db").size() == 2);
    CHECK(t.s("db").spec().command.back() == "--new");
    CHECK(*t.s("web").pid() == web);
    t.advance(1s);
    CHECK(t.s("db").state() == State::ready);
    CHECK(t.sup->mode() == Mode::full);
    t.wind_down();
}

TEST_CASE("a stop signal during a reload's stops waits for them too, and a reload during shutdown is refused") {
    auto slow = svc("slow");
    slow.stop.timeout = 1h;
    Story t({slow, svc("web")});
    t.advance(2s);
    const int pid = *t.s("slow").pid();
    config::ConfigDiff d;
    d.removed_services = {"slow"};
    d.unchanged_services = {"web"};
    CHECK(t.sup->apply(with({svc("web")}), d).empty());
    CHECK(t.sup->retiring() == 1);
    t.sup->shutdown();
    t.world.exit(*t.sup, *t.s("web").pid(), ExitStatus::killed(SIGTERM));
    CHECK_FALSE(t.world.complete);  // slow is still stopping
    CHECK(t.sup->apply(with({}), {}) == "mainstay is shutting down");
    t.world.exit(*t.sup, pid, ExitStatus::killed(SIGTERM));
    CHECK(t.world.complete);
    t.wind_down();
}

TEST_CASE("a reload during the startup phase: a waiting service removed, an added one joins the startup") {
    auto db = svc("db");
    Story t({db, svc("web", {dep("db")})}, {}, {"db"});  // db cannot start: web waits (blocked)
    config::ConfigDiff d;
    d.removed_services = {"web"};
    d.added_services = {"api"};
    d.unchanged_services = {"db"};
    CHECK(t.sup->apply(with({db, svc("api")}), d).empty());
    CHECK(t.sup->retiring() == 0);  // web never ran: gone at once
    CHECK(t.sup->find("web") == nullptr);
    CHECK(t.s("api").state() == State::running);
    t.advance(1s);
    CHECK(t.sup->startup_done());
    CHECK(t.sup->mode() == Mode::degraded);
    t.wind_down();
}

TEST_CASE(
    "reload and capabilities: a removed FULL one runs deactivate, a changed one starts again after it, an added one "
    "starts") {
    config::CapabilitySpec llm;
    llm.name = "local-llm";
    llm.requires_services = {"ollama"};
    llm.activate = config::Argv{"llm-mode", "local"};
    llm.deactivate = config::Argv{"llm-mode", "cloud"};
    Story t({svc("ollama")}, {llm});
    t.advance(1s);  // ollama ready: activate
    REQUIRE(t.world.helpers.size() == 1);
    t.world.exit(*t.sup, t.world.helpers[0].pid, ExitStatus::exited(0));
    REQUIRE(t.sup->capabilities()[0]->state() == resilience::CapabilityState::full);
    // Changed: the old one's deactivate first, then the new definition comes up (activate).
    auto llm2 = llm;
    llm2.activate = config::Argv{"llm-mode", "local", "--fast"};
    config::Config next = with({svc("ollama")});
    next.capabilities = {llm2};
    config::ConfigDiff d;
    d.unchanged_services = {"ollama"};
    d.changed_capabilities = {"local-llm"};
    CHECK(t.sup->apply(next, d).empty());
    REQUIRE(t.world.helpers.size() == 2);
    CHECK(t.world.helpers[1].name == "local-llm/deactivate");
    CHECK(t.sup->capabilities().empty());  // the new one waits for the old one's hook
    t.world.exit(*t.sup, t.world.helpers[1].pid, ExitStatus::exited(0));
    REQUIRE(t.sup->capabilities().size() == 1);
    t.advance(0ms);
    REQUIRE(t.world.helpers.size() == 3);
    CHECK(t.world.helpers[2].name == "local-llm/activate");
    t.world.exit(*t.sup, t.world.helpers[2].pid, ExitStatus::exited(0));
    CHECK(t.sup->capabilities()[0]->state() == resilience::CapabilityState::full);
    // Removed: its deactivate runs, then it is gone; added: a new one starts.
    config::CapabilitySpec gpu;
    gpu.name = "gpu";
    gpu.requires_services = {"ollama"};
    config::Config last = with({svc("ollama")});
    last.capabilities = {gpu};
    config::ConfigDiff d2;
    d2.unchanged_services = {"ollama"};
    d2.removed_capabilities = {"local-llm"};
    d2.added_capabilities = {"gpu"};
    CHECK(t.sup->apply(last, d2).empty());
    REQUIRE(t.world.helpers.size() == 4);
    CHECK(t.world.helpers[3].name == "local-llm/deactivate");
    t.world.exit(*t.sup, t.world.helpers[3].pid, ExitStatus::exited(0));
    CHECK(t.sup->retiring() == 0);
    REQUIRE(t.sup->capabilities().size() == 1);
    CHECK(t.sup->capabilities()[0]->spec().name == "gpu");
    t.advance(1s);
    CHECK(t.sup->capabilities()[0]->state() == resilience::CapabilityState::full);
    t.wind_down();
}

TEST_CASE("reload and tiers: a plain capability becomes a chain, a tier removed, the chain back to plain") {
    config::CapabilitySpec plain;
    plain.name = "llm";
    plain.requires_services = {"ollama"};
    plain.activate = config::Argv{"llm-mode", "local"};
    plain.deactivate = config::Argv{"llm-mode", "cloud"};
    Story t({svc("ollama"), svc("node")}, {plain});
    t.advance(1s);
    REQUIRE(t.world.helpers.back().name == "llm/activate");
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));
    REQUIRE(t.sup->capabilities()[0]->tier() == "full");
    auto apply = [&](const config::CapabilitySpec& c) {
        config::Config next = with({svc("ollama"), svc("node")});
        next.capabilities = {c};
        config::ConfigDiff d;
        d.unchanged_services = {"ollama", "node"};
        d.changed_capabilities = {"llm"};
        CHECK(t.sup->apply(next, d).empty());
    };
    // Plain -> three tiers: the old one's deactivate, then the chain starts on its best tier.
    config::CapabilitySpec chain;
    chain.name = "llm";
    for (const char* name : {"local", "node", "cloud"}) {
        config::TierSpec tier;
        tier.name = name;
        if (std::string(name) == "local") tier.requires_services = {"ollama"};
        if (std::string(name) == "node") tier.requires_services = {"node"};
        tier.activate = config::Argv{"llm-mode", name};
        chain.tiers.push_back(tier);
    }
    apply(chain);
    REQUIRE(t.world.helpers.back().name == "llm/deactivate");
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));
    t.advance(0ms);
    REQUIRE(t.world.helpers.back().name == "llm/local/activate");
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));
    CHECK(t.sup->capabilities()[0]->tier() == "local");
    CHECK(t.sup->capabilities()[0]->tiers() == std::vector<std::string>{"local", "node", "cloud"});
    // The local tier removed: the chain starts again, on node now.
    auto shorter = chain;
    shorter.tiers.erase(shorter.tiers.begin());
    apply(shorter);
    t.advance(0ms);
    REQUIRE(t.world.helpers.back().name == "llm/node/activate");
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));
    CHECK(t.sup->capabilities()[0]->tier() == "node");
    CHECK(t.sup->capabilities()[0]->state() == resilience::CapabilityState::full);  // node is its best now
    // Back to the plain form.
    apply(plain);
    t.advance(0ms);
    REQUIRE(t.world.helpers.back().name == "llm/activate");
    t.world.exit(*t.sup, t.world.helpers.back().pid, ExitStatus::exited(0));
    CHECK(t.sup->capabilities()[0]->tier() == "full");
    t.wind_down();
}
