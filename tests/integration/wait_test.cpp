// `mainstay wait` as a script or an init container uses it (SPEC §1): tcp, http, unix and
// service targets against real listeners (test-service run by a real mainstay), and the
// timeout that names what did not answer.
#include <doctest/doctest.h>

#include <string>

#include "harness.hpp"
#include "support/free_port.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

TEST_CASE("wait: tcp, http, unix and service targets answer once their service is up, in one command") {
    const int tcp = free_port();
    const int http = free_port();
    Mainstay m(main_yaml(),
               {{"db", ts("--listen " + std::to_string(tcp) + " --ready-after 1500") + "ready_after: 2s\n"},
                {"api", ts("--listen " + std::to_string(http) + " --http") + "ready_after: 100ms\n"},
                {"sock", ts("--unix-socket sock.socket --ready-after 500") + "working_dir: ..\n"}});
    const std::string sock = (m.dir() / "sock.socket").string();
    // Typed at once: each target is tried until it answers.
    const CliResult r = cli(
        m, {"wait", "tcp://127.0.0.1:" + std::to_string(tcp), "http://127.0.0.1:" + std::to_string(http) + "/health",
            "unix:" + sock, "service:db", "--timeout", "30s"});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    for (const std::string t : {"tcp://127.0.0.1:", "http://127.0.0.1:", "unix:", "service:db"}) {
        CHECK(contains(r.out, t));
    }
    CHECK(contains(r.out, "service:db: answers after "));
    // By then db is ready.
    CHECK(state_of(m, "db") == "ready");
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("wait: at the timeout it exits 1 and names what did not answer, and why") {
    const int nobody = free_port();
    Mainstay m(main_yaml(),
               {{"broken", "command: [not-installed-anywhere]\nrestart: {backoff: {initial: 1h, max: 1h}}\n"}});
    REQUIRE(m.wait_for("broken: recovering"));
    const CliResult r =
        cli(m, {"wait", "tcp://127.0.0.1:" + std::to_string(nobody), "service:broken", "--timeout", "1s"});
    INFO(r.out << r.err);
    CHECK(r.code == 1);
    CHECK(contains(r.err, "mainstay wait: after 1s, not answering:"));
    CHECK(contains(r.err, "tcp://127.0.0.1:" + std::to_string(nobody) + ": connect: connection refused"));
    CHECK(contains(r.err, "service:broken: recovering: executable not found: not-installed-anywhere"));
    // A target it cannot read is a usage error, before any wait.
    const CliResult bad = run_cli({"wait", "ftp://x"});
    CHECK(bad.code == 64);
    CHECK(contains(bad.err, "ftp://x: not one of tcp://HOST:PORT"));
    // Without service: targets, no configuration is needed at all.
    CHECK(run_cli({"wait", "tcp://127.0.0.1:" + std::to_string(nobody), "--timeout", "300ms"}).code == 1);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}
