// The resilience keys of SPEC §3 read from YAML, the way a user writes them: backoff strategies
// and proportional jitter, a oneshot's run-time limit, permanent exit codes of a wake and
// permanent HTTP statuses; `check --plan` printing the schedules they make.
#include <doctest/doctest.h>

#include <csignal>
#include <sstream>
#include <vector>

#include "cli/cli.hpp"
#include "config/loader.hpp"
#include "test_support.hpp"

using namespace mainstay::config;
using mainstay::testing::TempTree;
using namespace std::chrono_literals;

namespace {

struct Checked {
    int code;
    std::string out;
    std::string err;
};

// `mainstay check [--plan]` on a main file and the one service file `service`.
Checked check(const std::string& service, bool plan = false) {
    TempTree t;
    const auto main = t.write("mainstay.yaml", "{}\n");
    t.write("services.d/s.yaml", service);
    std::vector<std::string> args{"mainstay", "check", "-c", main.string()};
    if (plan) args.insert(args.begin() + 2, "--plan");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    const int code = mainstay::cli::run(static_cast<int>(argv.size()), argv.data(), out, err, Environment{});
    std::string e = err.str();
    // Paths differ per run: keep "s.yaml:LINE:COL: ..." only.
    for (auto at = e.find(t.root().string()); at != std::string::npos; at = e.find(t.root().string())) {
        e.erase(at, t.root().string().size() + std::string("/services.d/").size());
    }
    return {code, out.str(), e};
}

ServiceSpec load_one(const std::string& service) {
    TempTree t;
    const auto main = t.write("mainstay.yaml", "{}\n");
    t.write("services.d/s.yaml", service);
    LoadOptions o;
    o.config_file = main;
    LoadResult r = load(o);
    REQUIRE(r.config);
    REQUIRE(r.config->services.size() == 1);
    return r.config->services.front();
}

}  // namespace

TEST_CASE("backoff strategy linear with step, constant, and jitter as a fraction") {
    auto s = load_one(
        "command: [a]\nrestart: {backoff: {strategy: linear, initial: 2s, step: 3s, max: 1m, jitter: \"10%\"}}\n");
    CHECK(s.restart.backoff.strategy == mainstay::resilience::BackoffStrategy::linear);
    REQUIRE(s.restart.backoff.step);
    CHECK(*s.restart.backoff.step == 3s);
    CHECK(s.restart.backoff.jitter == mainstay::resilience::Jitter::proportional);
    CHECK(s.restart.backoff.jitter_fraction == doctest::Approx(0.1));
    auto c = load_one("command: [a]\nrestart: {backoff: {strategy: constant, initial: 5s, jitter: 25%}}\n");
    CHECK(c.restart.backoff.strategy == mainstay::resilience::BackoffStrategy::constant);
    CHECK(c.restart.backoff.jitter_fraction == doctest::Approx(0.25));
}

TEST_CASE("backoff keys that do not fit the strategy, and bad fractions, are errors naming line and column") {
    auto a = check("command: [a]\nrestart: {backoff: {strategy: constant, step: 1s}}\n");
    CHECK(a.code == 2);
    CHECK(a.err.find("s.yaml:2:47: error: 'step' is for strategy linear") != std::string::npos);
    auto b = check("command: [a]\nrestart: {backoff: {strategy: linear, multiplier: 3}}\n");
    CHECK(b.err.find("'multiplier' is for strategy exponential; this backoff is linear") != std::string::npos);
    auto c = check("command: [a]\nrestart: {backoff: {jitter: 150%}}\n");
    CHECK(c.err.find("'jitter' as a fraction must be above 0% and at most 100%") != std::string::npos);
    auto d = check("command: [a]\nrestart: {backoff: {strategy: fibonacci}}\n");
    CHECK(d.code == 2);
    CHECK(d.err.find("fibonacci") != std::string::npos);
}

TEST_CASE("check --plan prints the first five waits of each retry schedule") {
    auto o = check(
        "command: [a]\nrestart: {backoff: {strategy: linear, initial: 2s, step: 3s, max: 10s, jitter: none}}\n", true);
    CHECK(o.code == 0);
    CHECK(o.out.find("s: restart linear: 2s, 5s, 8s, 10s, 10s (max 10s; no jitter)") != std::string::npos);
    auto c = check("command: [a]\nrestart: {backoff: {strategy: constant, initial: 5s, jitter: 10%}}\n", true);
    CHECK(c.out.find("s: restart constant: 5s, 5s, 5s, 5s, 5s (max 5m; jitter 10%: each wait within 10% of it)") !=
          std::string::npos);
    auto e = check("command: [a]\n", true);
    CHECK(e.out.find("s: restart exponential: 1s, 2s, 4s, 8s, 16s (max 5m; jitter full") != std::string::npos);
}

TEST_CASE("check --plan prints the wake schedule of an external service and the hook schedule of a capability") {
    TempTree t;
    const auto main = t.write("mainstay.yaml", "{}\n");
    t.write("services.d/gpu.yaml",
            "kind: external\nprobes: {readiness: {tcp: \"127.0.0.1:9\"}}\n"
            "wake: {command: [wake], retry: {max_attempts: 4, backoff: {initial: 5s, jitter: equal}}}\n");
    t.write("services.d/llm.yaml",
            "kind: capability\nrequires: [gpu]\nactivate: [on]\n"
            "retry: {backoff: {initial: 2s, max: 1m, jitter: decorrelated}}\n");
    std::vector<std::string> args{"mainstay", "check", "--plan", "-c", main.string()};
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    REQUIRE(mainstay::cli::run(static_cast<int>(argv.size()), argv.data(), out, err, Environment{}) == 0);
    const std::string plan = out.str();
    INFO(plan);
    CHECK(
        plan.find("  gpu: wake (at most 4 attempts) exponential: 5s, 10s, 20s, 40s, 1m20s (max 5m; jitter equal: each "
                  "wait random between half of it and it)") != std::string::npos);
    CHECK(plan.find("gpu: restart") == std::string::npos);  // an external service has nothing to restart
    CHECK(plan.find("  llm: hooks (at most 3 attempts) exponential: 2s, 4s, 8s, 16s, 32s (max 1m; jitter decorrelated: "
                    "each wait random between 2s and 3x the last)") != std::string::npos);
}

TEST_CASE("a oneshot's timeout: 5m by default, set, 0 warned about, on a process an error") {
    CHECK(load_one("kind: oneshot\ncommand: [a]\n").timeout == 5min);
    CHECK(load_one("kind: oneshot\ncommand: [a]\ntimeout: 30s\n").timeout == 30s);
    auto zero = check("kind: oneshot\ncommand: [a]\ntimeout: 0\n");
    CHECK(zero.code == 0);
    CHECK(zero.err.find("s.yaml:3:10: warning: 'timeout: 0' lets this oneshot run for ever") != std::string::npos);
    auto process = check("command: [a]\ntimeout: 30s\n");
    CHECK(process.code == 2);
    CHECK(process.err.find("s.yaml:2:1: error: 'timeout' limits the run of a oneshot (kind: oneshot)") !=
          std::string::npos);
}

TEST_CASE("permanent exit codes of a wake and permanent HTTP statuses of a probe") {
    auto gpu = load_one(
        "kind: external\nprobes: {readiness: {http: {url: \"http://127.0.0.1:9/\", permanent_status: [401, 403]}}}\n"
        "wake: {command: [wake-gpu], permanent_exit_codes: [77]}\n");
    REQUIRE(gpu.wake);
    CHECK(gpu.wake->permanent_exit_codes == std::vector<int>{77});
    REQUIRE(gpu.probes.readiness);
    const auto& http = std::get<HttpProbe>(gpu.probes.readiness->handler);
    CHECK(http.permanent_status == std::vector<int>{401, 403});
    auto both =
        check("command: [a]\nprobes: {readiness: {http: {url: \"http://127.0.0.1:9/\", permanent_status: [200]}}}\n");
    CHECK(both.code == 2);
    CHECK(both.err.find("HTTP 200 is both healthy (in 'status' 200-399) and permanent") != std::string::npos);
    auto bad =
        check("command: [a]\nprobes: {readiness: {http: {url: \"http://127.0.0.1:9/\", permanent_status: [42]}}}\n");
    CHECK(bad.err.find("'permanent_status' lists HTTP status codes (100-599), got '42'") != std::string::npos);
}

TEST_CASE("forward_signals: SIGUSR1, SIGUSR2 and SIGWINCH by any spelling, another signal is an error saying why") {
    CHECK(load_one("command: [a]\nforward_signals: [SIGUSR1, USR2, 28]\n").forward_signals ==
          std::vector<int>{SIGUSR1, SIGUSR2, SIGWINCH});
    auto hup = check("command: [a]\nforward_signals: [SIGHUP]\n");
    CHECK(hup.code == 2);
    CHECK(hup.err.find(
              "s.yaml:2:19: error: mainstay passes on SIGUSR1, SIGUSR2 and SIGWINCH; SIGHUP means something to "
              "mainstay itself (use `mainstay signal SIGHUP s` to send it to this service)") != std::string::npos);
    auto bad = check("command: [a]\nforward_signals: [SIGNOPE]\n");
    CHECK(bad.err.find("'forward_signals' lists signals such as SIGUSR1, got 'SIGNOPE'") != std::string::npos);
}
