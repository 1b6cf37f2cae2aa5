#include "report/status_json.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "sample.hpp"

using namespace mainstay;
using namespace mainstay::report;
using namespace mainstay::testing;
using nlohmann::json;

TEST_CASE("the status document has SPEC's top level: mode, since, startup, services, capabilities") {
    const json doc = status_document(sample_model(), kSteadyNow, kWallNow);
    CHECK(doc["mode"] == "degraded");
    CHECK(doc["since"] == "2026-11-23T08:00:01.123Z");
    CHECK(doc["startup"] == json{{"done", true}, {"duration_ms", 812}});
    REQUIRE(doc["services"].size() == 3);
    REQUIRE(doc["capabilities"].size() == 1);
}

TEST_CASE("a recovering service reads as in SPEC's example, with the extra probes, depends_on and breaker fields") {
    const json doc = status_document(sample_model(), kSteadyNow, kWallNow);
    const json& d = doc["services"][0];
    CHECK(d["name"] == "docker");
    CHECK(d["kind"] == "process");
    CHECK(d["state"] == "recovering");
    CHECK(d["ready"] == false);
    CHECK(d["pid"].is_null());
    CHECK(d["restarts"] == 3);
    CHECK(d["attempts"] == 4);
    CHECK(d["breaker_state"] == "open");
    CHECK(d["breaker"] == json{{"state", "open"},
                               {"operation", "restart"},
                               {"failures", 5},
                               {"failure_threshold", 5},
                               {"successes", 12},
                               {"failures_total", 9},
                               {"rejected", 3},
                               {"last_failure", "2026-11-23T08:00:01.100Z"},
                               {"last_success", "2026-11-23T07:59:00.123Z"},
                               {"next_trial_in_ms", 20000}});
    CHECK(d["breaker_next_trial_in_ms"] == 20000);
    CHECK(d["next_attempt_in_ms"] == 8000);
    CHECK(d["last_exit"] == json{{"code", 1}, {"signal", nullptr}});
    CHECK(d["reason"] == "readiness probe failed: connect: connection refused");
    CHECK(d["blocked_by"] == json::array());
    CHECK(d["since"] == "2026-11-23T08:00:01.100Z");
    CHECK(d["probes"] ==
          json::array({{{"kind", "readiness"}, {"health", "unhealthy"}, {"last_duration_ms", 250}, {"failures", 3}}}));
    CHECK(d["depends_on"] == json::array());
    // Every key of SPEC §5's service object is there.
    for (const char* key : {"name", "kind", "state", "ready", "pid", "restarts", "attempts", "breaker",
                            "next_attempt_in_ms", "last_exit", "reason", "blocked_by", "since"}) {
        CHECK_MESSAGE(d.contains(key), key);
    }
}

TEST_CASE("absent values are null: no pid, no next attempt, no breaker trial, a killed process has no code") {
    const json doc = status_document(sample_model(), kSteadyNow, kWallNow);
    const json& app = doc["services"][1];
    CHECK(app["pid"].is_null());
    CHECK(app["next_attempt_in_ms"].is_null());
    CHECK(app["breaker_next_trial_in_ms"].is_null());
    CHECK(app["breaker"]["last_failure"].is_null());
    CHECK(app["breaker"]["last_success"].is_null());
    CHECK(app["breaker"]["next_trial_in_ms"].is_null());
    CHECK(app["last_exit"].is_null());
    CHECK(app["blocked_by"] == json::array({"docker"}));
    CHECK(app["depends_on"] ==
          json::array({{{"name", "docker"}, {"required", true}}, {{"name", "cache"}, {"required", false}}}));
    const json& web = doc["services"][2];
    CHECK(web["pid"] == 4242);
    CHECK(web["ready"] == true);
    CHECK(web["last_exit"] == json{{"code", nullptr}, {"signal", 9}});
}

TEST_CASE("a capability carries its state, since, reason, what it requires and its tiers") {
    auto model = sample_model();
    const json doc = status_document(model, kSteadyNow, kWallNow);
    CHECK(doc["capabilities"][0] ==
          json{{"name", "local-llm"},
               {"description", ""},
               {"state", "degraded"},
               {"since", "2026-11-23T08:00:02.123Z"},
               {"reason", "docker is recovering"},
               {"requires", json::array({"docker"})},
               {"tier", nullptr},
               {"tiers", json::array({"full"})},
               {"held", false},
               {"held_at", nullptr},
               {"better_tiers",
                json::array(
                    {{{"tier", "full"}, {"why", "docker is recovering"}, {"requires", json::array({"docker"})}}})}});
    auto& c = model.capabilities[0];
    c.tiers = {"local", "node", "cloud"};
    c.tier = "cloud";
    c.held = true;
    c.held_at = "cloud";
    const json held = status_document(model, kSteadyNow, kWallNow)["capabilities"][0];
    CHECK(held["tier"] == "cloud");
    CHECK(held["tiers"] == json::array({"local", "node", "cloud"}));
    CHECK(held["held"] == true);
    CHECK(held["held_at"] == "cloud");
}

TEST_CASE("while starting, startup is not done and its duration is null") {
    auto m = sample_model();
    m.mode = supervisor::Mode::starting;
    m.startup_done = false;
    m.startup_duration.reset();
    const json doc = status_document(m, kSteadyNow, kWallNow);
    CHECK(doc["mode"] == "starting");
    CHECK(doc["startup"]["done"] == false);
    CHECK(doc["startup"]["duration_ms"].is_null());
}
