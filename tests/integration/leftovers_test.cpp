// Nothing left behind (SPEC §4): what a SIGKILLed mainstay leaves is ended by the next one,
// with cgroup v2 and without (MAINSTAY_NO_CGROUP=1 forces the recorded process groups).
//
// Safety: the only pid this file signals is mainstay's, as the harness got it from its own
// fork (Mainstay::signal refuses anything <= 1). Grandchildren are only looked at, with
// kill(pid, 0), after their pid file (written by our own test-service) gave a pid > 1.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "harness.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

int pid_in(const std::filesystem::path& file) {
    auto lines = read_lines(file);
    try {
        return lines.empty() ? -1 : std::stoi(lines.front());
    } catch (const std::exception&) {
        return -1;
    }
}

// Sets an environment variable for the mainstays started in a scope (they inherit it).
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (value) ::setenv(name, value, 1);
    }
    ~ScopedEnv() { ::unsetenv(name_); }

private:
    const char* name_;
};

void killed_mainstay_leaves_nothing_behind(bool no_cgroup) {
    ScopedEnv env("MAINSTAY_NO_CGROUP", no_cgroup ? "1" : nullptr);
    Mainstay first(main_yaml(),
                   {{"forker", ts("--fork-grandchild --grandchild-pid-file forker.gc --pid-file forker.pid") +
                                   "working_dir: ..\n"},
                    {"daemon", ts("--grandchild-new-session --grandchild-pid-file daemon.gc --pid-file daemon.pid") +
                                   "working_dir: ..\n"}});
    REQUIRE(first.wait_for(no_cgroup ? "no cgroup for services (MAINSTAY_NO_CGROUP is set)" : "mainstay starting"));
    const auto dir = first.dir();
    int forker = -1, daemon = -1, forker_gc = -1, daemon_gc = -1;
    REQUIRE(eventually([&] {
        forker = pid_in(dir / "forker.pid");
        daemon = pid_in(dir / "daemon.pid");
        forker_gc = pid_in(dir / "forker.gc");
        daemon_gc = pid_in(dir / "daemon.gc");
        return forker > 1 && daemon > 1 && forker_gc > 1 && daemon_gc > 1;
    }));
    REQUIRE(first.wait_for("forker: running"));
    REQUIRE(first.wait_for("daemon: running"));

    first.signal(SIGKILL);
    CHECK(first.wait_exit() == 128 + SIGKILL);
    // The parent-death signal ends mainstay's children; their children are left: the gap.
    CHECK(eventually([&] { return !alive(forker) && !alive(daemon); }, 10s));
    CHECK(alive(forker_gc));
    CHECK(alive(daemon_gc));

    Mainstay second(dir);
    auto ended = second.wait_for("left by a previous instance");
    REQUIRE(ended);
    INFO(*ended);
    CHECK(ended->find("ended 2 processes left by a previous instance: ") != std::string::npos);
    CHECK(ended->find(" " + std::to_string(forker_gc) + " test-service (") != std::string::npos);
    CHECK(ended->find(" " + std::to_string(daemon_gc) + " test-service (") != std::string::npos);
    CHECK(eventually([&] { return !alive(forker_gc) && !alive(daemon_gc); }, 10s));
    // Only then does it start its own.
    CHECK(second.wait_for("forker: running"));
    auto lines = second.lines();
    auto at = [&](const std::string& text) {
        return std::find_if(lines.begin(), lines.end(),
                            [&](const std::string& l) { return l.find(text) != std::string::npos; });
    };
    CHECK(at("left by a previous instance") < at("forker: running"));
    second.signal(SIGTERM);
    CHECK(second.wait_exit() == 0);
    // A clean end leaves neither records nor cgroups for a third one to end.
    CHECK_FALSE(std::filesystem::exists(dir / "run/control.sock.groups"));
}

}  // namespace

TEST_CASE(
    "after mainstay is SIGKILLed, the next one ends the grandchildren and daemons it left (cgroup v2 where usable)") {
    killed_mainstay_leaves_nothing_behind(false);
}

TEST_CASE("after mainstay is SIGKILLed, the next one ends what it left, from its records (MAINSTAY_NO_CGROUP=1)") {
    killed_mainstay_leaves_nothing_behind(true);
}

TEST_CASE("limits that cannot be applied are a warning with the reason, once per service, and the service runs") {
    ScopedEnv env("MAINSTAY_NO_CGROUP", "1");
    Mainstay m(main_yaml(), {{"capped", ts("") + "limits: {memory: 64MiB, cpu: 0.5, pids: 64}\n"}, {"free", ts("")}});
    CHECK(m.wait_for("capped: limits (memory, cpu, pids) not applied: MAINSTAY_NO_CGROUP is set"));
    CHECK(m.wait_for("capped: running"));
    CHECK(m.wait_for("free: running"));
    CHECK(m.count("limits (") == 1);
    CHECK(m.count("not applied") == 1);  // once, at start: not again at the first spawn
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("with cgroup v2, limits land in the service's cgroup, or a warning says why not") {
    Mainstay m(main_yaml(), {{"capped", ts("--pid-file capped.pid") +
                                            "working_dir: ..\nlimits: {memory: 64MiB, cpu: 0.5, pids: 64}\n"}});
    REQUIRE(m.wait_for("capped: running"));
    int pid = -1;
    REQUIRE(eventually([&] { return (pid = pid_in(m.dir() / "capped.pid")) > 1; }));
    if (m.count("capped: limits (") == 1) {
        MESSAGE("limits not applied here: " << *m.wait_for("capped: limits ("));
        CHECK(m.count("not applied") == 1);  // the start's warning is not repeated by the first spawn
    } else if (m.count("no cgroup for services") == 0) {
        // Where is it? /proc/PID/cgroup's 0:: line, under the cgroup2 mount.
        auto cg = read_lines("/proc/" + std::to_string(pid) + "/cgroup");
        auto v2 = std::find_if(cg.begin(), cg.end(), [](const std::string& l) { return l.rfind("0::", 0) == 0; });
        REQUIRE(v2 != cg.end());
        CHECK(v2->find("/service.capped") != std::string::npos);
    }
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("with cgroup v2, a daemon that left its service's group goes when the service's leader exits") {
    Mainstay m(main_yaml(), {{"forking", ts("--grandchild-new-session --grandchild-pid-file d.gc --orphan-grandchild") +
                                             "working_dir: ..\nrestart: {policy: never}\n"}});
    REQUIRE(m.wait_for("mainstay starting"));
    int gc = -1;
    REQUIRE(eventually([&] { return (gc = pid_in(m.dir() / "d.gc")) > 1; }));
    REQUIRE(m.wait_for("forking: stopped (exited with code 0"));
    if (m.count("no cgroup for services") == 1) {
        MESSAGE("no usable cgroup v2 here: the daemon is ended at shutdown instead");
    } else {
        CHECK(eventually([&] { return !alive(gc); }, 10s));
    }
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    CHECK(eventually([&] { return !alive(gc); }, 10s));
}

TEST_CASE("without cgroups, a daemon that left its service's group goes when the service's leader exits") {
    ScopedEnv env("MAINSTAY_NO_CGROUP", "1");
    Mainstay m(main_yaml(),
               {{"forking", ts("--grandchild-new-session --grandchild-pid-file d.gc --orphan-grandchild") +
                                "working_dir: ..\nrestart: {policy: never}\n"},
                {"other", ts("--grandchild-new-session --grandchild-pid-file o.gc") + "working_dir: ..\n"}});
    REQUIRE(m.wait_for("no cgroup for services (MAINSTAY_NO_CGROUP is set)"));
    int gc = -1, other = -1;
    REQUIRE(eventually([&] { return (gc = pid_in(m.dir() / "d.gc")) > 1 && (other = pid_in(m.dir() / "o.gc")) > 1; }));
    REQUIRE(m.wait_for("forking: stopped (exited with code 0"));
    CHECK(eventually([&] { return !alive(gc); }, 10s));
    CHECK(m.wait_for("forking: ended 1 process it left outside its group"));
    CHECK(alive(other));  // another service's daemon is not touched
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    CHECK(eventually([&] { return !alive(other); }, 10s));
}
