// A service flooding its output, alone on the machine: the queue is sized so that a burst of
// 10 MB reaches the log file whole when the writer thread gets its share of a core. Run serially
// (tests/CMakeLists.txt): beside other tests on two shared cores the writer can be starved long
// enough for the bounded queue to drop (and count) lines, which is the design, not this check.
#include <doctest/doctest.h>

#include <filesystem>

#include "harness.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

TEST_CASE("a service writing 10 MB of lines quickly loses no line in its log file") {
    const int n = 100000;
    Mainstay m(main_yaml(", max_size: 100MiB"),
               {{"chatty", ts("--print-lines " + std::to_string(n) + " --line-length 100") +
                               "restart: {policy: on-failure}\n"
                               // The file is what is checked: the console (read by this test's
                               // thread) would only compete for the writer on a loaded machine.
                               "output: {console: false}\n"}});
    CHECK(m.wait_for("chatty: stopped (exited with code 0"));
    auto log = m.dir() / "logs/chatty.log";
    REQUIRE(eventually([&] { return read_lines(log).size() >= static_cast<std::size_t>(n); }));
    auto lines = read_lines(log);
    REQUIRE(lines.size() == static_cast<std::size_t>(n));
    // Each line after its time stamp: "2026-11-28T06:53:06.123Z line 0 xxx".
    for (int i = 0; i < n; i += 997)
        CHECK(lines[static_cast<std::size_t>(i)].find(" line " + std::to_string(i) + " ") == 24);
    CHECK(lines.back().size() == 25 + 99);
}
