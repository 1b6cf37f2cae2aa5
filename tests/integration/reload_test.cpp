// Reload for real (SPEC §4): a file dropped into services.d starts on `mainstay reload`, a
// deleted one stops, a changed one restarts, every other process keeps its pid; a broken file
// changes nothing and `mainstay reload` prints FILE:LINE:COL and fails. SIGHUP does the same.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>

#include "harness.hpp"
#include "support/free_port.hpp"
#include "support/pid_file.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

CliResult reload(Mainstay& m) {
    return run_cli({"reload", "-c", (m.dir() / "mainstay.yaml").string()});
}

void write(const std::filesystem::path& file, const std::string& text) {
    std::ofstream out(file.string() + ".tmp");
    out << text;
    out.close();
    std::filesystem::rename(file.string() + ".tmp", file);
}

}  // namespace

TEST_CASE("reload: a dropped file starts, a deleted one stops, a changed one restarts, the rest keep their pid") {
    Mainstay m(main_yaml(), {{"keep", ts("--pid-file keep.pid") + "working_dir: ..\nready_after: 100ms\n"},
                             {"change", ts("--pid-file change.pid") + "working_dir: ..\nready_after: 100ms\n"},
                             {"drop", ts("--pid-file drop.pid") + "working_dir: ..\nready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    const auto dir = m.dir();
    REQUIRE(eventually([&] {
        return read_pid(dir / "keep.pid") > 0 && read_pid(dir / "change.pid") > 0 && read_pid(dir / "drop.pid") > 0;
    }));
    const int keep = read_pid(dir / "keep.pid"), change = read_pid(dir / "change.pid");
    // The change file only reformatted: nothing to do for it.
    write(dir / "services.d/change.yaml",
          "# same as before\n" + ts("--pid-file change.pid") + "working_dir: \"..\"\nready_after: 100ms\n");
    auto same = reload(m);
    CHECK(same.code == 0);
    CHECK(same.out.find("reload: nothing changed") == 0);
    // Now for real: one added, one removed, one changed.
    write(dir / "services.d/new.yaml", ts("--pid-file new.pid") + "working_dir: ..\nready_after: 100ms\n");
    std::filesystem::remove(dir / "services.d/drop.yaml");
    write(dir / "services.d/change.yaml",
          ts("--pid-file change.pid --listen 0") + "working_dir: ..\nready_after: 100ms\n");
    auto applied = reload(m);
    CHECK(applied.code == 0);
    INFO(applied.out, applied.err);
    CHECK(applied.out.find("1 added (new)") != std::string::npos);
    REQUIRE(m.wait_for("new: ready"));
    REQUIRE(m.wait_for("drop: stopped"));
    REQUIRE(eventually([&] { return read_pid(dir / "change.pid") > 0 && read_pid(dir / "change.pid") != change; }));
    REQUIRE(eventually([&] { return m.count("change: ready") == 2; }));
    CHECK(read_pid(dir / "keep.pid") == keep);
    CHECK(m.count("keep: running") == 1);
    // Read again with nothing new: the diff's base is what runs now (the services' own
    // definitions), so it is no change, and nothing restarts.
    auto again = reload(m);
    CHECK(again.code == 0);
    CHECK(again.out.find("reload: nothing changed (3 services") == 0);
    CHECK(m.count("change: ready") == 2);
    auto status = run_cli({"status", "-c", (dir / "mainstay.yaml").string()});
    CHECK(status.code == 0);
    CHECK(status.out.find("drop") == std::string::npos);
    CHECK(status.out.find("new") != std::string::npos);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("reload: a broken file changes nothing, the errors come as FILE:LINE:COL, exit 2") {
    Mainstay m(main_yaml(), {{"web", ts("--pid-file web.pid") + "working_dir: ..\nready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    const auto dir = m.dir();
    REQUIRE(eventually([&] { return read_pid(dir / "web.pid") > 0; }));
    const int web = read_pid(dir / "web.pid");
    write(dir / "services.d/bad.yaml", "command: [x]\nrestart: {polcy: always}\n");
    auto broken = reload(m);
    CHECK(broken.code == 2);
    CHECK(broken.err.find((dir / "services.d/bad.yaml").string() + ":2:") != std::string::npos);
    CHECK(m.wait_for("reload: the configuration is invalid: nothing changed"));
    CHECK(read_pid(dir / "web.pid") == web);
    CHECK(run_cli({"status", "-c", (dir / "mainstay.yaml").string()}).code == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("SIGHUP reloads: a dropped file starts") {
    Mainstay m(main_yaml(), {{"web", ts("") + "ready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    write(m.dir() / "services.d/late.yaml", ts("") + "ready_after: 100ms\n");
    m.signal(SIGHUP);
    CHECK(m.wait_for("received SIGHUP"));
    CHECK(m.wait_for("late: ready"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("reload applies log.level and status.http live, and names what needs a restart") {
    Mainstay m(main_yaml(), {{"web", ts("") + "ready_after: 100ms\n"}});
    REQUIRE(m.wait_for("mode: full"));
    const int port = free_port();
    write(m.dir() / "mainstay.yaml",
          "services_dir: services.d\n"
          "log: {file: logs/mainstay.log, level: debug}\n"
          "status: {socket: run/control.sock, file: run/status.json, http: \"127.0.0.1:" +
              std::to_string(port) +
              "\"}\n"
              "shutdown: {timeout: 25s}\n");
    auto applied = reload(m);
    CHECK(applied.code == 0);
    INFO(applied.out, applied.err);
    CHECK(applied.out.find("status.http") != std::string::npos);
    CHECK(applied.out.find("needs a restart: shutdown.timeout") != std::string::npos);
    CHECK(m.wait_for("status over HTTP on 127.0.0.1:" + std::to_string(port)));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}
