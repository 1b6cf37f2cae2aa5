// Probe cadence and the recovery series with real processes: a slow starter under the shipped
// Ollama probes, and a crash after `reset_after` of readiness (SPEC §3).
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "harness.hpp"
#include "support/free_port.hpp"
#include "support/pid_file.hpp"
#include "support/signal_guard.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

std::string slurp(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("the shipped ollama probes: a server that listens only after 2.5s is ready and never killed") {
    // The shipped file as users get it, with the test-service standing in for `ollama serve`
    // on a free port: it opens its listener (HTTP, so /api/version answers) after 2.5 s.
    const std::string shipped = slurp(std::filesystem::path(MAINSTAY_SOURCE_DIR) / "services.d" / "ollama.yaml");
    REQUIRE(shipped.find("command: [ollama, serve]\n") != std::string::npos);
    const std::string port = std::to_string(free_port());
    std::string ollama = replace_all(shipped, "command: [ollama, serve]\n",
                                     ts("--listen " + port + " --http --ready-after 2500 --start-file ollama.starts"));
    ollama = replace_all(ollama, "127.0.0.1:11434", "127.0.0.1:" + port);
    Mainstay m(main_yaml(), {{"ollama", ollama + "working_dir: ..\n"}});
    REQUIRE(m.wait_for("ollama: ready"));
    CHECK(read_lines(m.dir() / "ollama.starts").size() == 1);  // started once: never killed
    CHECK(m.count("liveness probe tcp") == 0);
    CHECK(m.count("ollama: stopping") == 0);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
    CHECK(read_lines(m.dir() / "ollama.starts").size() == 1);
}

TEST_CASE("a crash after reset_after of readiness is retried after initial, not after the grown backoff") {
    // Three failed starts grow the backoff 100 ms -> 500 ms -> 2.5 s (the next would be 12.5 s);
    // the fourth start runs. Ready for reset_after (1 s), then SIGKILL: restarted after 100 ms.
    const std::string script =
        "n=$(cat tries 2>/dev/null || echo 0); echo $((n+1)) > tries; [ $n -ge 3 ] || exit 1; exec " +
        std::string(TEST_SERVICE_PATH) + " --listen 0 --pid-file svc.pid";
    Mainstay m(
        main_yaml(),
        {{"svc", "command: [sh, -c, '" + script +
                     "']\n"
                     "working_dir: ..\n"
                     "ready_after: 200ms\n"
                     "restart: {reset_after: 1s, backoff: {initial: 100ms, multiplier: 5, max: 1m, jitter: none},"
                     " circuit_breaker: {failure_threshold: 100}}\n"}});
    REQUIRE(m.wait_for("svc: ready"));
    CHECK(m.count("svc: recovering (exited with code 1)") == 3);
    REQUIRE(m.wait_for("svc: ready for 1s: a next failure starts a fresh series (first retry after 100ms)"));
    const int pid = read_pid(m.dir() / "svc.pid");
    REQUIRE(pid > 1);
    signal_process(pid, SIGKILL);
    // The reason quotes the last line it wrote ("listening on ...").
    auto line = m.wait_for("svc: recovering (killed by SIGKILL");
    REQUIRE(line);
    CHECK(line->find("\"); attempt 1 in 100ms") != std::string::npos);
    const auto killed = Clock::now();
    REQUIRE(eventually([&] { return read_pid(m.dir() / "svc.pid") != pid && read_pid(m.dir() / "svc.pid") > 1; }));
    CHECK(Clock::now() - killed < 5s);  // far below the 12.5 s the grown backoff would have waited
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}
