#include "report/journal.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "sample.hpp"

using namespace mainstay;
using namespace mainstay::report;
using namespace mainstay::testing;
using nlohmann::json;
using Subject = JournalEntry::Subject;

namespace {

JournalEntry entry(std::string name, resilience::TimePoint at, std::string to = "recovering") {
    JournalEntry e;
    e.at = at;
    e.subject = Subject::service;
    e.name = std::move(name);
    e.from = "starting";
    e.to = std::move(to);
    return e;
}

}  // namespace

TEST_CASE("the journal numbers entries from 1 and keeps them oldest first") {
    Journal j;
    CHECK(j.capacity() == 1000);
    CHECK(j.last_seq() == 0);
    CHECK(j.since_seq(0).empty());
    j.record(entry("a", kSteadyNow));
    j.record(entry("b", kSteadyNow + 1s));
    j.record(entry("c", kSteadyNow + 2s));
    CHECK(j.last_seq() == 3);
    const auto all = j.since_seq(0);
    REQUIRE(all.size() == 3);
    CHECK(all[0].seq == 1);
    CHECK(all[0].name == "a");
    CHECK(all[2].seq == 3);
    CHECK(all[2].name == "c");
}

TEST_CASE("newest is the entry recorded last, also once the ring has wrapped") {
    Journal j(2);
    j.record(entry("a", kSteadyNow));
    CHECK(j.newest().name == "a");
    CHECK(j.newest().seq == 1);
    j.record(entry("b", kSteadyNow + 1s));
    j.record(entry("c", kSteadyNow + 2s));
    CHECK(j.newest().name == "c");
    CHECK(j.newest().seq == 3);
}

TEST_CASE("at capacity the oldest entries are dropped: of 1500, the last 1000 are kept") {
    Journal j(1000);
    for (int i = 1; i <= 1500; ++i) j.record(entry("s" + std::to_string(i), kSteadyNow + std::chrono::milliseconds(i)));
    CHECK(j.size() == 1000);
    CHECK(j.capacity() == 1000);
    CHECK(j.last_seq() == 1500);
    const auto all = j.since_seq(0);
    REQUIRE(all.size() == 1000);
    CHECK(all.front().seq == 501);
    CHECK(all.front().name == "s501");
    CHECK(all.back().seq == 1500);
    CHECK(all.back().name == "s1500");
    for (std::size_t i = 1; i < all.size(); ++i) REQUIRE(all[i].seq == all[i - 1].seq + 1);
}

TEST_CASE("since_seq returns exactly the entries after a number, or all still held when it was dropped") {
    Journal j(3);
    for (int i = 1; i <= 5; ++i) j.record(entry("s" + std::to_string(i), kSteadyNow));
    auto after3 = j.since_seq(3);
    REQUIRE(after3.size() == 2);
    CHECK(after3[0].seq == 4);
    CHECK(after3[1].seq == 5);
    CHECK(j.since_seq(5).empty());
    CHECK(j.since_seq(99).empty());
    auto after1 = j.since_seq(1);  // 2 was dropped: everything held, from 3
    REQUIRE(after1.size() == 3);
    CHECK(after1[0].seq == 3);
    CHECK(after1[0].name == "s3");
}

TEST_CASE("entries_since returns the entries recorded at or after a time") {
    Journal j(10);
    for (int i = 0; i < 5; ++i) j.record(entry("s" + std::to_string(i), kSteadyNow + std::chrono::seconds(i)));
    const auto recent = j.entries_since(kSteadyNow + 3s);
    REQUIRE(recent.size() == 2);
    CHECK(recent[0].name == "s3");
    CHECK(recent[1].name == "s4");
    CHECK(j.entries_since(kSteadyNow + 10s).empty());
    CHECK(j.entries_since(kSteadyNow).size() == 5);
}

TEST_CASE("the listener sees every entry as recorded, with its number") {
    Journal j(2);
    std::vector<std::uint64_t> seen;
    j.set_listener([&](const JournalEntry& e) { seen.push_back(e.seq); });
    for (int i = 0; i < 4; ++i) j.record(entry("x", kSteadyNow));
    CHECK(seen == std::vector<std::uint64_t>{1, 2, 3, 4});
    j.set_listener({});
    j.record(entry("x", kSteadyNow));
    CHECK(seen.size() == 4);
    CHECK(j.last_seq() == 5);
}

TEST_CASE("a service event in JSON has seq, time, service, from, to, reason, attempt and next attempt") {
    JournalEntry e = entry("docker", kSteadyNow - 2s);
    e.seq = 12;
    e.reason = "exited with code 1";
    e.attempt = 4;
    e.next_attempt_in = 16s;
    const json j = event_json(e, kSteadyNow, kWallNow);
    CHECK(j == json{{"seq", 12},
                    {"time", "2026-11-23T08:00:01.123Z"},
                    {"service", "docker"},
                    {"from", "starting"},
                    {"to", "recovering"},
                    {"reason", "exited with code 1"},
                    {"attempt", 4},
                    {"next_attempt_in_ms", 16000}});
}

TEST_CASE("capability and mode events carry their own key, and absent attempts are null") {
    JournalEntry c = entry("local-llm", kSteadyNow, "full");
    c.subject = Subject::capability;
    c.from = "upgrading";
    const json cj = event_json(c, kSteadyNow, kWallNow);
    CHECK(cj["capability"] == "local-llm");
    CHECK_FALSE(cj.contains("service"));
    CHECK(cj["attempt"].is_null());
    CHECK(cj["next_attempt_in_ms"].is_null());
    CHECK(cj["reason"] == "");

    JournalEntry m;
    m.at = kSteadyNow;
    m.subject = Subject::mode;
    m.from = "starting";
    m.to = "degraded";
    const json mj = event_json(m, kSteadyNow, kWallNow);
    CHECK(mj["mode"] == true);
    CHECK(mj["from"] == "starting");
    CHECK(mj["to"] == "degraded");
    CHECK_FALSE(mj.contains("service"));
    CHECK_FALSE(mj.contains("capability"));
}

TEST_CASE("an event renders as one line: time, name, from -> to, reason, attempt and next") {
    JournalEntry e = entry("docker", kSteadyNow - 2s);
    e.reason = "exited with code 1";
    e.attempt = 4;
    e.next_attempt_in = 16s;
    CHECK(render_event(event_json(e, kSteadyNow, kWallNow)) ==
          "08:00:01.123  docker  starting -> recovering  (exited with code 1)  attempt 4, next in 16s");

    JournalEntry c = entry("local-llm", kSteadyNow, "full");
    c.subject = Subject::capability;
    c.from = "upgrading";
    CHECK(render_event(event_json(c, kSteadyNow, kWallNow)) == "08:00:03.123  capability local-llm  upgrading -> full");

    JournalEntry m;
    m.at = kSteadyNow;
    m.subject = Subject::mode;
    m.from = "starting";
    m.to = "degraded";
    m.reason = "docker is recovering\nsince boot";
    CHECK(render_event(event_json(m, kSteadyNow, kWallNow)) ==
          "08:00:03.123  mode  starting -> degraded  (docker is recovering since boot)");

    JournalEntry n = entry("web", kSteadyNow);
    n.next_attempt_in = 250ms;
    CHECK(render_event(event_json(n, kSteadyNow, kWallNow)) ==
          "08:00:03.123  web  starting -> recovering  next in 250ms");
}
