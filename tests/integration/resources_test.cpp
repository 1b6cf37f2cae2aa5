// What mainstay holds must not grow with time: descriptors, processes, memory for output.
#include <doctest/doctest.h>

#include <fstream>

#include "harness.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

TEST_CASE("exec probes that leave a daemon behind leak neither descriptors nor processes") {
    // Each round's probe starts a process in a session of its own that keeps the output pipe
    // open after the probe exited. Before, mainstay read that pipe until the daemon ended: two
    // descriptors and a capture per round, for as long as the daemon lived.
    const int rounds = 1000;
    Mainstay m(main_yaml(),
               {{"web", ts("") + "working_dir: ..\n"
                                 "probes: {readiness: {exec: \"sh -c 'echo x >> rounds; setsid sleep 2 & exit 0'\", "
                                 "interval: 5ms, startup_interval: 5ms, timeout: 2s}}\n"}});
    REQUIRE(m.wait_for("web: ready"));
    const auto rounds_file = m.dir() / "rounds";
    REQUIRE(eventually([&] { return read_lines(rounds_file).size() >= 20; }));
    const std::size_t fds_early = open_fds(m.pid());
    REQUIRE(eventually([&] { return read_lines(rounds_file).size() >= static_cast<std::size_t>(rounds); }, 120s));
    // Two seconds of rounds have daemons alive at any time; none of them costs mainstay a
    // descriptor (a probe in flight holds two at most).
    const std::size_t fds_late = open_fds(m.pid());
    INFO("descriptors: " << fds_early << " after 20 rounds, " << fds_late << " after " << rounds);
    CHECK(fds_late <= fds_early + 4);
    // Probes keep ending while we look: a zombie may stand for a moment before the reaper gets
    // its SIGCHLD, but none is left standing.
    CHECK(eventually([&] { return zombie_children(m.pid()).empty(); }, 10s));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}
