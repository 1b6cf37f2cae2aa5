#include "report/status_table.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "report/format.hpp"
#include "report/status_json.hpp"
#include "sample.hpp"

using namespace mainstay;
using namespace mainstay::report;
using namespace mainstay::testing;
using nlohmann::json;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
}

json sample_doc() {
    return status_document(sample_model(), kSteadyNow, kWallNow);
}

}  // namespace

TEST_CASE("the table has a header, one row per service in order, the capabilities and the mode line") {
    const auto lines = lines_of(render_table(sample_doc()));
    REQUIRE(lines.size() == 9);
    CHECK(lines[0] == "NAME    KIND     STATE       READY  PID   RST  BREAKER  NEXT   REASON");
    CHECK(lines[1] == "docker  process  recovering  no     -     3    open     in 8s  readiness probe \u2026");
    CHECK(lines[2] == "app     process  blocked     no     -     0    -        -      docker is recove\u2026");
    CHECK(lines[3] == "web     process  ready       yes    4242  1    -        -");  // a closed breaker: "-"
    CHECK(lines[4].empty());
    CHECK(lines[5] == "CAPABILITY  STATE     TIER  REASON");
    CHECK(lines[6] == "local-llm   degraded  -     docker is recovering");
    CHECK(lines[7].empty());
    CHECK(lines[8] == "mode: degraded (since 08:00:01 UTC, startup 812 ms)");
}

TEST_CASE("a wide terminal shows whole reasons") {
    const auto lines = lines_of(render_table(sample_doc(), 200));
    CHECK(lines[1] ==
          "docker  process  recovering  no     -     3    open     in 8s  "
          "readiness probe failed: connect: connection refused");
}

TEST_CASE("long names and reasons are cut, never wrapped: every line fits 80 columns") {
    auto m = sample_model();
    m.services[0].name = std::string(60, 'n');
    m.services[1].reason = "r\u00e9ason " + std::string(300, 'x');
    m.capabilities[0].name = std::string(90, 'c');
    m.capabilities[0].reason = std::string(200, 'y');
    const auto lines = lines_of(render_table(status_document(m, kSteadyNow, kWallNow)));
    REQUIRE(lines.size() == 9);  // still one line per service and capability
    for (const auto& l : lines) CHECK_MESSAGE(columns(l) <= 80, l);
    CHECK(starts_with(lines[1], "nnnnn"));
    CHECK(lines[0].find("KIND") == std::string::npos);                 // KIND and READY went first
    CHECK(lines[1].find("n\u2026  recovering") != std::string::npos);  // then the name was cut, the row whole
    CHECK(starts_with(lines[2], "app   "));
    CHECK(lines[2].find("r\u00e9ason xxx") != std::string::npos);
    CHECK(lines[2].substr(lines[2].size() - 3) == "\u2026");
    CHECK(starts_with(lines[6], "ccccc"));
    CHECK(columns(lines[6]) == 80);
}

TEST_CASE("a narrow width still holds every line, and a newline in a reason does not break the row") {
    auto m = sample_model();
    m.services[1].reason = "first line\nsecond line";
    const std::string text = render_table(status_document(m, kSteadyNow, kWallNow), 40);
    const auto lines = lines_of(text);
    REQUIRE(lines.size() == 9);
    for (const auto& l : lines) CHECK_MESSAGE(columns(l) <= 40, l);
    const auto wide = lines_of(render_table(status_document(m, kSteadyNow, kWallNow), 200));
    REQUIRE(wide.size() == 9);
    CHECK(wide[2].find("first line second line") != std::string::npos);
}

TEST_CASE("a service with no next attempt prints - in NEXT, one with an attempt prints in and a compact duration") {
    auto m = sample_model();
    m.services[0].next_attempt_in = std::chrono::milliseconds(150'000);
    const auto lines = lines_of(render_table(status_document(m, kSteadyNow, kWallNow), 120));
    const std::size_t next = lines[0].find("NEXT");
    REQUIRE(next != std::string::npos);
    CHECK(lines[1].substr(next, 8) == "in 2m30s");
    CHECK(lines[2].substr(next, 2) == "- ");
    CHECK(lines[3].substr(next) == "-");
}

TEST_CASE("the mode line says when the startup phase is still running, and no capabilities means no section") {
    auto m = sample_model();
    m.mode = supervisor::Mode::starting;
    m.startup_done = false;
    m.startup_duration.reset();
    m.capabilities.clear();
    const auto lines = lines_of(render_table(status_document(m, kSteadyNow, kWallNow)));
    REQUIRE(lines.size() == 6);
    CHECK(lines[4].empty());
    CHECK(lines[5] == "mode: starting (since 08:00:01 UTC, startup in progress)");
}

TEST_CASE("a document with missing fields renders dashes instead of failing") {
    const json doc = {{"services", json::array({{{"name", "old"}}})}};
    const auto lines = lines_of(render_table(doc));
    REQUIRE(lines.size() == 4);
    CHECK(lines[1] == "old   -     -      -      -    -    -        -");
    CHECK(lines[3] == "mode: unknown (since - UTC, startup in progress)");
}

TEST_CASE("at 80 columns KIND and READY give way before a name is cut") {
    auto m = sample_model();
    m.services[0].name = "invincible-node";
    m.services[0].kind = config::Kind::external;
    m.services[0].next_attempt_in = std::chrono::milliseconds(342);
    const auto lines = lines_of(render_table(status_document(m, kSteadyNow, kWallNow)));
    for (const auto& l : lines) CHECK_MESSAGE(columns(l) <= 80, l);
    CHECK(lines[0].rfind("NAME             STATE       PID   RST  BREAKER  NEXT      REASON", 0) == 0);
    CHECK(starts_with(lines[1], "invincible-node  recovering"));
    CHECK(lines[1].find("readiness probe") != std::string::npos);
    const auto wide = lines_of(render_table(status_document(m, kSteadyNow, kWallNow), 120));
    CHECK(wide[0].find("KIND") != std::string::npos);  // room enough: every column
    CHECK(wide[0].find("READY") != std::string::npos);
}

TEST_CASE("mainstay breakers: one row per service with its breaker's figures, times in UTC") {
    const auto lines = lines_of(render_breakers(sample_doc(), 120));
    REQUIRE(lines.size() == 4);
    CHECK(starts_with(
        lines[0], "SERVICE  GUARDS   STATE   FAILURES  SUCCESSES  REJECTED  LAST FAILURE  LAST SUCCESS  NEXT TRIAL"));
    CHECK(starts_with(lines[1],
                      "docker   restart  open    5/5       12         3         08:00:01      07:59:00      in 20s"));
    CHECK(lines[2].find("closed") != std::string::npos);
    for (const auto& l : lines_of(render_breakers(sample_doc(), 60))) CHECK(columns(l) <= 60);
}
