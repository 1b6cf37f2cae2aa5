// Capability tiers for real (SPEC §3): a chain local -> node -> cloud over stand-in services,
// moved by the services coming and going and by `mainstay downgrade` / `upgrade` typed at the
// running instance; each tier's activate hook appends its name to a record, read in order.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

// The record the hooks append to, in a directory of its own; named to mainstay through
// $MAINSTAY_TEST_TIER_RECORD, which the capability's file interpolates.
struct Record {
    std::filesystem::path dir;
    std::filesystem::path file;
    Record() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-tiers-XXXXXX").string();
        dir = ::mkdtemp(tmpl.data());
        file = dir / "record";
        ::setenv("MAINSTAY_TEST_TIER_RECORD", file.c_str(), 1);
    }
    ~Record() {
        ::unsetenv("MAINSTAY_TEST_TIER_RECORD");
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    std::vector<std::string> lines() const { return read_lines(file); }
};

const std::string kLlm =
    "kind: capability\n"
    "description: Answers from the best model there is\n"
    "monitor_interval: 1s\n"
    "tiers:\n"
    "  - {name: local, requires: [ollama], activate: [sh, -c, 'echo local >> \"$$0\"', "
    "'${MAINSTAY_TEST_TIER_RECORD}']}\n"
    "  - {name: node, requires: [node], activate: [sh, -c, 'echo node >> \"$$0\"', '${MAINSTAY_TEST_TIER_RECORD}']}\n"
    "  - {name: cloud, activate: [sh, -c, 'echo cloud >> \"$$0\"', '${MAINSTAY_TEST_TIER_RECORD}']}\n";

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE(
    "tiers: cloud, then node, then local as they come, down and up with the services, downgrade and upgrade by hand") {
    Record record;
    Mainstay m(
        main_yaml(),
        {{"ollama", ts("") + "ready_after: 2500ms\n"}, {"node", ts("") + "ready_after: 1200ms\n"}, {"llm", kLlm}});
    REQUIRE(m.wait_for("capability llm: full, tier local"));
    CHECK(record.lines() == Lines{"cloud", "node", "local"});

    // ollama stopped by hand: down one tier; started again: back up.
    CHECK(cli(m, {"stop", "ollama", "--wait"}).code == 0);
    REQUIRE(eventually([&] { return record.lines().size() == 4; }));
    CHECK(record.lines().back() == "node");
    const auto doc = nlohmann::json::parse(cli(m, {"status", "--json"}).out);
    const auto& llm = doc["capabilities"][0];
    CHECK(llm["tier"] == "node");
    CHECK(llm["state"] == "degraded");
    CHECK(llm["tiers"] == nlohmann::json::array({"local", "node", "cloud"}));
    CHECK(cli(m, {"start", "ollama", "--wait"}).code == 0);
    REQUIRE(eventually([&] { return record.lines().size() == 5; }));
    CHECK(record.lines().back() == "local");

    // By hand: held on cloud until upgrade.
    const CliResult down = cli(m, {"downgrade", "llm", "--to", "cloud"});
    INFO(down.out << down.err);
    CHECK(down.code == 0);
    CHECK(contains(down.out, "llm: held at tier cloud until mainstay upgrade"));
    REQUIRE(eventually([&] { return record.lines().size() == 6; }));
    CHECK(record.lines().back() == "cloud");
    const CliResult why = cli(m, {"why", "llm"});
    CHECK(contains(why.out, "tier local is not active: held at tier cloud by mainstay downgrade"));
    CHECK(contains(cli(m, {"status"}).out, "cloud (held)"));
    CHECK(contains(cli(m, {"events", "llm"}).out, "held at tier cloud by mainstay downgrade"));
    CHECK(cli(m, {"downgrade", "llm", "--to", "moon"}).code == 1);
    CHECK(cli(m, {"upgrade", "ollama"}).code == 1);  // a service, not a capability
    const CliResult up = cli(m, {"upgrade", "llm"});
    CHECK(up.code == 0);
    REQUIRE(eventually([&] { return record.lines().size() == 7; }));
    CHECK(record.lines().back() == "local");
    REQUIRE(m.wait_for("capability llm: full, tier local"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    CHECK(record.lines() == Lines{"cloud", "node", "local", "node", "local", "cloud", "local"});
}
