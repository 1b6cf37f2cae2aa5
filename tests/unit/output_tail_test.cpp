// The last lines of each service (runtime/output_tail.hpp): what `mainstay logs` prints and what
// a failed exit's reason quotes. No processes: lines are handed in, files written by the test.
#include "runtime/output_tail.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>

#include "unit/test_support.hpp"

using namespace mainstay;
using namespace mainstay::runtime;
using mainstay::testing::TempTree;

namespace {

const auto kT0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

std::chrono::system_clock::time_point at(int ms) {
    return kT0 + std::chrono::milliseconds(ms);
}

}  // namespace

TEST_CASE("a tail keeps the last 100 lines of each service, each cut at 512 bytes") {
    OutputTails tails;
    for (int i = 1; i <= 150; ++i) tails.add("web", "line " + std::to_string(i), at(i), true);
    tails.add("db", std::string(2000, 'x'), at(0), true);
    auto web = tails.rendered("web", 1000);
    REQUIRE(web.size() == OutputTails::kLines);
    CHECK(web.front() == "2027-01-15T08:00:00.051Z line 51");
    CHECK(web.back() == "2027-01-15T08:00:00.150Z line 150");
    CHECK(tails.rendered("web", 2) ==
          std::vector<std::string>{"2027-01-15T08:00:00.149Z line 149", "2027-01-15T08:00:00.150Z line 150"});
    CHECK(tails.last("db").size() == OutputTails::kLineBytes);
    CHECK(tails.rendered("nobody", 10).empty());
}

TEST_CASE("the last line of a run is its own process's, and a new run has said nothing yet") {
    OutputTails tails;
    tails.add("web", "Address already in use", at(1), true);
    tails.add("web", "stop command says bye", at(2), false);  // a helper's line: kept, not the run's word
    CHECK(tails.last_of_run("web") == "Address already in use");
    CHECK(tails.last("web") == "stop command says bye");
    tails.begin_run("web");
    CHECK(tails.last_of_run("web").empty());
    CHECK(tails.last("web") == "stop command says bye");  // still shown by `logs`
}

TEST_CASE("followers get each new line of their service, rendered, until they unfollow") {
    OutputTails tails;
    std::vector<std::string> got;
    const auto id = tails.follow("web", [&](const std::string& l) { got.push_back(l); });
    tails.add("web", "one", at(1), true);
    tails.add("db", "other", at(2), true);
    tails.unfollow(id);
    tails.add("web", "two", at(3), true);
    CHECK(got == std::vector<std::string>{"2027-01-15T08:00:00.001Z one"});
}

TEST_CASE("json format: the lines render as the service's log file holds them") {
    OutputTails tails(config::LogFormat::json);
    tails.add("web", "hello", at(1), true);
    CHECK(tails.rendered("web", 1) ==
          std::vector<std::string>{R"({"time":"2027-01-15T08:00:00.001Z","service":"web","line":"hello"})"});
}

TEST_CASE("merged: the file's lines, then the kept lines the file does not hold yet, nothing twice") {
    OutputTails tails;
    for (int i = 1; i <= 5; ++i) tails.add("web", "l" + std::to_string(i), at(i), true);
    const auto r = [&](int i) { return "2027-01-15T08:00:00.00" + std::to_string(i) + "Z l" + std::to_string(i); };
    // Older lines (a previous instance's) then l1..l3 written; l4, l5 still queued.
    std::vector<std::string> file{"2026-01-01T00:00:00.000Z old", r(1), r(2), r(3)};
    CHECK(tails.merged("web", file, 10) == std::vector<std::string>{file[0], r(1), r(2), r(3), r(4), r(5)});
    CHECK(tails.merged("web", file, 2) == std::vector<std::string>{r(4), r(5)});
    // Everything written.
    CHECK(tails.merged("web", {r(1), r(2), r(3), r(4), r(5)}, 3) == std::vector<std::string>{r(3), r(4), r(5)});
    // Only the last lines read from the file (-n 2): it ends at l3, so l4 and l5 follow.
    CHECK(tails.merged("web", {r(2), r(3)}, 2) == std::vector<std::string>{r(4), r(5)});
    // A file that holds none of them (rotated, or a service with nothing written yet).
    CHECK(tails.merged("web", {}, 2) == std::vector<std::string>{r(4), r(5)});
}

TEST_CASE("merged: a line kept cut matches the file's whole line by its start") {
    OutputTails tails;
    const std::string longer(600, 'y');
    tails.add("web", longer, at(1), true);
    tails.add("web", "after", at(2), true);
    const std::string whole = "2027-01-15T08:00:00.001Z " + longer;
    CHECK(tails.merged("web", {whole}, 5) == std::vector<std::string>{whole, "2027-01-15T08:00:00.002Z after"});
}

TEST_CASE("read_file_tail: the last n whole lines, no link followed, nothing but a regular file") {
    TempTree t;
    std::string text;
    for (int i = 1; i <= 5000; ++i) text += "line " + std::to_string(i) + "\n";
    const auto file = t.write("web.log", text);
    auto lines = read_file_tail(file, 3);
    REQUIRE(lines);
    CHECK(*lines == std::vector<std::string>{"line 4998", "line 4999", "line 5000"});
    // Bounded in bytes: from the middle of a line, that line is left out.
    auto few = read_file_tail(file, 1000, 100);
    REQUIRE(few);
    CHECK(few->back() == "line 5000");
    CHECK(few->front().rfind("line ", 0) == 0);
    CHECK(few->size() < 20);
    const auto partial = t.write("partial.log", "a\nb\nno newline yet");
    CHECK(*read_file_tail(partial, 2) == std::vector<std::string>{"b", "no newline yet"});
    CHECK(read_file_tail(t.root() / "absent.log", 3) == std::nullopt);
    std::filesystem::create_symlink(file, t.root() / "link.log");
    CHECK(read_file_tail(t.root() / "link.log", 3) == std::nullopt);
    CHECK(read_file_tail(t.root(), 3) == std::nullopt);
}
