// The resilience of SPEC §3 and §5 from the operator's side: a oneshot that hangs is ended at
// its timeout, failures that retrying cannot fix make a service failed, the backoff strategies
// show in the log, and `mainstay breakers` shows each breaker's figures; each against a real
// `mainstay run` with real children, through the real command line.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "support/free_port.hpp"

using namespace mainstay::testing;
using namespace std::chrono_literals;

namespace {

// An external service on a port nobody listens on: probed every 100 ms, woken by `wake` (its
// command and any more keys of the wake map) after one failed probe, retried every 10 ms.
std::string external_gpu(int port, const std::string& wake) {
    return "kind: external\n"
           "probes: {readiness: {tcp: \"127.0.0.1:" +
           std::to_string(port) +
           "\", interval: 100ms, failure_threshold: 1}}\n"
           "wake: {command: " +
           wake + ", retry: {max_attempts: 5, backoff: {initial: 10ms, jitter: none}}}\n";
}

}  // namespace

TEST_CASE("resilience: a oneshot that hangs is stopped at its timeout, fails, and its dependent says why") {
    Mainstay m(main_yaml(), {{"migrate", "kind: oneshot\n" + ts("") + "timeout: 1s\nrestart: {policy: never}\n"},
                             {"web", ts("") + "ready_after: 50ms\ndepends_on: {migrate: {condition: completed}}\n"}});
    REQUIRE(m.wait_for("migrate: stopping (timed out after 1s (its timeout): stop signal SIGTERM, SIGKILL after 10s)"));
    REQUIRE(m.wait_for("migrate: failed (timed out: still running after 1s (its timeout), stopped: "));
    CHECK(eventually([&] { return state_of(m, "web") == "blocked"; }));
    auto why = cli(m, {"why", "web"});
    INFO(why.out);
    CHECK(contains(why.out, "migrate"));
    CHECK(contains(why.out, "timed out"));
    CHECK(cli(m, {"status"}).code == 1);  // degraded: exit 1
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("resilience: an HTTP status in permanent_status makes the service failed at once, probed no more") {
    const int port = free_port();
    Mainstay m(main_yaml(),
               {{"api", ts("--listen " + std::to_string(port) + " --http --healthy-file never-there") +
                            "probes: {readiness: {http: {url: \"http://127.0.0.1:" + std::to_string(port) +
                            "/\", permanent_status: [503]}, interval: 100ms, failure_threshold: 100}}\n"}});
    REQUIRE(m.wait_for("api: failed (permanent: readiness probe http://127.0.0.1:" + std::to_string(port) +
                       "/ failed: HTTP 503 (listed in permanent_status); not retried until start, restart or resume)"));
    auto svc = service_of(m, "api");
    CHECK(svc["pid"].is_null());  // its process was stopped
    REQUIRE(svc["probes"].size() == 1);
    const auto failures = svc["probes"][0].value("failures", -1);
    std::this_thread::sleep_for(500ms);  // five intervals
    CHECK(service_of(m, "api")["probes"][0].value("failures", -1) == failures);
    CHECK(m.count("api: started") + m.count("api: running") <= 2);  // started once, never again
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("resilience: a wake that exits with a permanent exit code makes the external service failed until start") {
    Mainstay m(main_yaml(), {{"gpu", external_gpu(free_port(),
                                                  "[sh, -c, 'echo no credentials; exit 77'], "
                                                  "permanent_exit_codes: [77]")}});
    REQUIRE(m.wait_for(
        "gpu: failed (permanent: wake command exited with code 77: \"no credentials\" (a permanent exit code)"));
    std::this_thread::sleep_for(300ms);
    CHECK(m.count("gpu: waking") == 1);  // not retried
    auto r = cli(m, {"start", "gpu"});
    CHECK(r.code == 0);
    CHECK(m.wait_for("gpu: waking (attempt 2)"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("resilience: linear and constant backoff schedules, as the log tells them") {
    Mainstay m(main_yaml(), {{"lin",
                              "command: [sh, -c, 'exit 1']\n"
                              "restart: {backoff: {strategy: linear, initial: 100ms, step: 200ms, jitter: none}, "
                              "circuit_breaker: {failure_threshold: 100}}\n"},
                             {"con",
                              "command: [sh, -c, 'exit 1']\n"
                              "restart: {backoff: {strategy: constant, initial: 150ms, jitter: none}, "
                              "circuit_breaker: {failure_threshold: 100}}\n"}});
    CHECK(m.wait_for("lin: recovering (exited with code 1); attempt 1 in 100ms"));
    CHECK(m.wait_for("lin: recovering (exited with code 1); attempt 2 in 300ms"));
    CHECK(m.wait_for("lin: recovering (exited with code 1); attempt 3 in 500ms"));
    CHECK(m.wait_for("con: recovering (exited with code 1); attempt 3 in 150ms"));
    CHECK(m.count("con: recovering (exited with code 1); attempt 2 in 150ms") == 1);
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}

TEST_CASE("resilience: mainstay breakers shows a breaker that opened and rejected, resume --all closes it") {
    Mainstay m(main_yaml(),
               {{"gpu", external_gpu(free_port(), "[sh, -c, 'exit 1']")}, {"web", ts("") + "ready_after: 50ms\n"}});
    // The external service's breaker guards its wakes: default threshold 5 is reached by the
    // first series (5 attempts); a next wake is then rejected while it is open.
    REQUIRE(m.wait_for("gpu: circuit breaker open after 5 failures in a row"));
    nlohmann::json gpu;
    REQUIRE(eventually([&] {
        auto r = cli(m, {"breakers", "--json"});
        auto list = nlohmann::json::parse(r.out, nullptr, false);
        if (r.code != 0 || !list.is_array()) return false;
        for (const auto& b : list) {
            if (b.value("service", "") == "gpu") gpu = b;
        }
        return gpu.is_object() && gpu.value("rejected", 0) >= 1;
    }));
    CHECK(gpu.value("state", "") == "open");
    CHECK(gpu.value("operation", "") == "wake");
    CHECK(gpu.value("failures", 0) == 5);
    CHECK(gpu.value("failures_total", 0) >= 5);
    CHECK(gpu["last_failure"].is_string());
    CHECK(gpu["last_success"].is_null());
    CHECK(gpu.value("next_trial_in_ms", 0) > 0);
    auto table = cli(m, {"breakers"});
    CHECK(table.code == 0);
    CHECK(contains(table.out, "SERVICE"));
    CHECK(contains(table.out, "gpu"));
    CHECK(contains(table.out, "5/5"));
    // The plain form stays in the status document.
    auto doc = nlohmann::json::parse(cli(m, {"status", "--json"}).out, nullptr, false);
    REQUIRE(doc.is_object());
    CHECK(doc["services"][0]["breaker_state"] == "open");

    auto resume = cli(m, {"resume", "--all"});
    INFO(resume.out << resume.err);
    CHECK(resume.code == 0);
    CHECK(contains(resume.out, "gpu: resume requested"));
    CHECK(m.wait_for("gpu: circuit breaker closed: resumed"));
    m.signal(SIGTERM);
    CHECK(m.wait_exit() == 0);
}
