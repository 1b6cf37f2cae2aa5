#include "report/why.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report/status_json.hpp"
#include "sample.hpp"

using namespace mainstay;
using namespace mainstay::report;
using namespace mainstay::testing;
using nlohmann::json;

namespace {

using Deps = std::vector<std::pair<std::string, bool>>;

json svc(const std::string& name, const std::string& state, const std::string& reason, Deps deps = {},
         std::optional<int> next_ms = std::nullopt, int attempts = 0) {
    json d = json::array();
    for (const auto& [n, required] : deps) d.push_back({{"name", n}, {"required", required}});
    return {
        {"name", name},     {"state", state},       {"ready", state == "ready" || state == "completed"},
        {"reason", reason}, {"attempts", attempts}, {"next_attempt_in_ms", next_ms ? json(*next_ms) : json(nullptr)},
        {"depends_on", d}};
}

json doc(std::vector<json> services) {
    return {{"mode", "degraded"}, {"services", services}};
}

json chain() {
    return doc({svc("db", "recovering", "exited with code 1", {}, 4000, 2),
                svc("api", "waiting", "needs db healthy", {{"db", true}}),
                svc("web", "blocked", "api is waiting", {{"api", true}})});
}

}  // namespace

TEST_CASE("why follows a chain of three down to the root cause") {
    const json a = why(chain(), "web");
    CHECK(a["service"] == "web");
    CHECK(a["ready"] == false);
    CHECK(a["root_causes"] == json::array({"db"}));
    const json& web = a["tree"];
    CHECK(web["state"] == "blocked");
    CHECK(web["root_cause"] == false);
    REQUIRE(web["waits_on"].size() == 1);
    const json& api = web["waits_on"][0];
    CHECK(api["name"] == "api");
    CHECK(api["required"] == true);
    REQUIRE(api["waits_on"].size() == 1);
    const json& db = api["waits_on"][0];
    CHECK(db["name"] == "db");
    CHECK(db["root_cause"] == true);
    CHECK(db["next_attempt_in_ms"] == 4000);
    CHECK(db["next_attempt"] == 3);
    CHECK(db["waits_on"] == json::array());
    CHECK(render_why(a) ==
          "web: blocked (api is waiting)\n"
          "  \u2514\u2500 api: waiting (needs db healthy)\n"
          "       \u2514\u2500 db: recovering (exited with code 1); attempt 3 in 4s   <- root cause\n"
          "root causes: db\n");
}

TEST_CASE("why in a diamond walks the shared dependency once and names it once as root cause") {
    const json d =
        doc({svc("db", "failed", "exited with code 78"), svc("api", "blocked", "db is failed", {{"db", true}}),
             svc("worker", "blocked", "db is failed", {{"db", true}}),
             svc("web", "blocked", "api is blocked", {{"api", true}, {"worker", true}})});
    const json a = why(d, "web");
    CHECK(a["root_causes"] == json::array({"db"}));
    const json& kids = a["tree"]["waits_on"];
    REQUIRE(kids.size() == 2);
    CHECK(kids[0]["waits_on"][0]["name"] == "db");
    CHECK_FALSE(kids[0]["waits_on"][0].contains("repeated"));
    CHECK(kids[1]["waits_on"][0]["name"] == "db");
    CHECK(kids[1]["waits_on"][0]["repeated"] == true);
    CHECK(render_why(a) ==
          "web: blocked (api is blocked)\n"
          "  \u251c\u2500 api: blocked (db is failed)\n"
          "  \u2502    \u2514\u2500 db: failed (exited with code 78)   <- root cause\n"
          "  \u2514\u2500 worker: blocked (db is failed)\n"
          "       \u2514\u2500 db: failed (shown above)\n"
          "root causes: db\n");
}

TEST_CASE("a soft dependency counts only while the service is waiting for it") {
    const json waiting = doc({svc("cache", "starting", "pid 7"), svc("db", "ready", ""),
                              svc("web", "waiting", "needs cache healthy", {{"db", true}, {"cache", false}})});
    const json a = why(waiting, "web");
    REQUIRE(a["tree"]["waits_on"].size() == 1);  // db is ready: not listed
    CHECK(a["tree"]["waits_on"][0]["name"] == "cache");
    CHECK(a["tree"]["waits_on"][0]["required"] == false);
    CHECK(a["root_causes"] == json::array({"cache"}));
    CHECK(render_why(a) ==
          "web: waiting (needs cache healthy)\n"
          "  \u2514\u2500 cache (soft): starting (pid 7)   <- root cause\n"
          "root causes: cache\n");

    // Started anyway (degraded), web's own trouble is its own: the soft dependency is not blamed.
    const json running = doc({svc("cache", "recovering", "exited with code 1", {}, 2000),
                              svc("web", "unhealthy", "readiness probe failed", {{"cache", false}})});
    const json b = why(running, "web");
    CHECK(b["tree"]["waits_on"] == json::array());
    CHECK(b["root_causes"] == json::array({"web"}));
    CHECK(render_why(b) == "web: unhealthy (readiness probe failed)   <- root cause\nroot causes: web\n");
}

TEST_CASE("why of a ready service says it is ready") {
    const json a = why(doc({svc("db", "ready", ""), svc("web", "ready", "", {{"db", true}})}), "web");
    CHECK(a["ready"] == true);
    CHECK(a["root_causes"] == json::array());
    CHECK(a["tree"]["state"] == "ready");
    CHECK(render_why(a) == "web: ready\n");
}

TEST_CASE("why of an unknown name is an error") {
    const json a = why(chain(), "nope");
    CHECK(a == json{{"error", "no service or capability named nope"}});
    CHECK(render_why(a) == "no service or capability named nope\n");
}

TEST_CASE("a cycle in the document ends instead of looping") {
    const json d =
        doc({svc("a", "blocked", "b is blocked", {{"b", true}}), svc("b", "blocked", "a is blocked", {{"a", true}})});
    const json a = why(d, "a");
    CHECK(a["tree"]["waits_on"][0]["name"] == "b");
    CHECK(a["tree"]["waits_on"][0]["waits_on"][0]["repeated"] == true);
    CHECK(a["root_causes"] == json::array());
    CHECK(render_why(a).find("root causes: none found") != std::string::npos);
}

TEST_CASE("why reads the document status_document makes") {
    const json a = why(status_document(sample_model(), kSteadyNow, kWallNow), "app");
    CHECK(a["tree"]["state"] == "blocked");
    REQUIRE(a["tree"]["waits_on"].size() ==
            1);  // docker (required); cache is not in the document but app is not waiting
    CHECK(a["tree"]["waits_on"][0]["name"] == "docker");
    CHECK(a["tree"]["waits_on"][0]["next_attempt"] == 5);
    CHECK(a["root_causes"] == json::array({"docker"}));
}

TEST_CASE("why of a degraded capability walks down its required services to the root cause") {
    json d = chain();
    d["capabilities"] = json::array({{{"name", "local-llm"},
                                      {"state", "degraded"},
                                      {"reason", "api is waiting"},
                                      {"requires", json::array({"api", "db"})}}});
    const json a = why(d, "local-llm");
    CHECK(a["ready"] == false);
    CHECK(a["tree"]["state"] == "degraded");
    CHECK(a["tree"]["kind"] == "capability");
    REQUIRE(a["tree"]["waits_on"].size() == 2);
    CHECK(a["tree"]["waits_on"][0]["name"] == "api");
    CHECK(a["tree"]["waits_on"][1]["name"] == "db");
    CHECK(a["root_causes"] == json::array({"db"}));
    const std::string text = render_why(a);
    CHECK(text.rfind("local-llm: degraded (api is waiting)\n", 0) == 0);
    CHECK(text.find("root causes: db") != std::string::npos);
}

TEST_CASE("a capability whose requirements are ready but whose check fails is its own root cause") {
    json d = doc({svc("db", "ready", "")});
    d["capabilities"] = json::array({{{"name", "fast"},
                                      {"state", "degraded"},
                                      {"reason", "check failed: connection refused"},
                                      {"requires", json::array({"db"})}}});
    const json a = why(d, "fast");
    CHECK(a["tree"]["waits_on"] == json::array());
    CHECK(a["root_causes"] == json::array({"fast"}));
    d["capabilities"][0]["state"] = "full";
    CHECK(render_why(why(d, "fast")) == "fast: full\n");
}

TEST_CASE("the status document lists what each capability requires") {
    auto m = sample_model();
    m.capabilities[0].required = {"docker", "web"};
    const json d = status_document(m, kSteadyNow, kWallNow);
    CHECK(d["capabilities"][0]["requires"] == json::array({"docker", "web"}));
    const json a = why(d, "local-llm");
    REQUIRE(a["tree"]["waits_on"].size() == 1);  // web is ready
    CHECK(a["tree"]["waits_on"][0]["name"] == "docker");
}

TEST_CASE("why of a capability on a lower tier says why each better tier is not active") {
    json d = chain();
    d["capabilities"] = json::array(
        {{{"name", "llm"},
          {"state", "degraded"},
          {"reason", "tier cloud; local: api is waiting"},
          {"requires", json::array()},
          {"tier", "cloud"},
          {"tiers", json::array({"local", "node", "cloud"})},
          {"better_tiers",
           json::array({{{"tier", "local"}, {"why", "api is waiting"}, {"requires", json::array({"api"})}},
                        {{"tier", "node"}, {"why", "db is recovering"}, {"requires", json::array({"db"})}}})}}});
    const json a = why(d, "llm");
    CHECK(a["ready"] == false);
    REQUIRE(a["tree"]["waits_on"].size() == 2);
    CHECK(a["tree"]["waits_on"][0]["name"] == "api");
    CHECK(a["tree"]["waits_on"][1]["name"] == "db");
    CHECK(a["root_causes"] == json::array({"db"}));
    const std::string text = render_why(a);
    CHECK(text.find("  tier local is not active: api is waiting\n") != std::string::npos);
    CHECK(text.find("  tier node is not active: db is recovering\n") != std::string::npos);
    CHECK(text.find("  active tier: cloud\n") != std::string::npos);
}
