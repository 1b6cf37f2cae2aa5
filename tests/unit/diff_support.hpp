// What the reload diff tests share (diff_test.cpp, diff_more_test.cpp): a configuration tree
// rewritten and read again as a reload does, a service that sets every key, and the check that
// one replacement in it is a change of that service alone.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/diff.hpp"
#include "config/loader.hpp"
#include "test_support.hpp"

namespace diff_support {

using namespace mainstay::config;
using mainstay::testing::TempTree;
using Names = std::vector<std::string>;
using Files = std::map<std::string, std::string>;  // services.d/NAME -> text

inline const std::string kMain = "services_dir: services.d\n";

// One configuration directory, rewritten and read again like a reload does.
class Tree {
public:
    // Replaces the main file and everything in services.d, then loads.
    Config load(const Files& services, const std::string& main = kMain) {
        std::filesystem::remove_all(tree_.root() / "services.d");
        tree_.write("mainstay.yaml", main);
        for (const auto& [file, text] : services) tree_.write("services.d/" + file, text);
        auto r = mainstay::config::load({tree_.root() / "mainstay.yaml", std::nullopt, std::nullopt, {}});
        std::string messages;
        for (const auto& d : r.diagnostics.sorted()) messages += format(d) + "\n";
        INFO(messages);
        REQUIRE(r.config);
        return std::move(*r.config);
    }
    const TempTree& files() const { return tree_; }

private:
    TempTree tree_;
};

inline ConfigDiff reload(const Files& before, const Files& after, const std::string& main_before = kMain,
                         const std::string& main_after = kMain) {
    Tree t;
    Config old = t.load(before, main_before);
    Config now = t.load(after, main_after);
    return diff(old, now);
}

// `text` with `from` (which must occur exactly once) replaced by `to`.
inline std::string replaced(const std::string& text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "not in the base: " << from);
    REQUIRE_MESSAGE(text.find(from, at + 1) == std::string::npos, "twice in the base: " << from);
    return text.substr(0, at) + to + text.substr(at + from.size());
}

// A process service that sets every key, each to a value other than its default.
inline const std::string kService = R"(command: [server, --port, "8080"]
working_dir: /srv
environment: {A: "1", B: "2"}
env_file: svc.env
user: nobody
group: nogroup
critical: false
enabled: true
ready_after: 2s
depends_on:
  db: {condition: healthy, required: true}
probes:
  startup: {exec: [check, start], initial_delay: 1s, interval: 10s, timeout: 1s, success_threshold: 1, failure_threshold: 3}
  readiness:
    http: {url: "http://127.0.0.1/ready", method: GET, status: 200-399, headers: {X-A: "1", X-B: "2"}, unix_socket: /run/s.sock, body_contains: ok}
    interval: 5s
    startup_interval: 50ms
  liveness: {tcp: "127.0.0.1:8080"}
restart:
  policy: always
  backoff: {initial: 1s, max: 5m, multiplier: 2, jitter: full}
  reset_after: 1m
  permanent_exit_codes: [78, 2]
  circuit_breaker: {failure_threshold: 5, recovery_timeout: 30s, half_open_successes: 1, half_open_max_calls: 1}
recovery: {max_attempts: 7, max_total_time: 1h}
stop: {signal: SIGTERM, timeout: 10s, command: [server, --stop]}
output: {console: true, file: true}
limits: {memory: 1GiB, cpu: 1.5, pids: 100}
)";

inline const std::string kEnvFile = "E=1\n";
inline const std::string kDb = "command: [db]\n";

inline Files with_service(const std::string& svc, const std::string& env = kEnvFile) {
    return {{"svc.yaml", svc}, {"svc.env", env}, {"db.yaml", kDb}};
}

// Each replacement in kService must make `svc` changed and nothing else.
inline void check_each_is_a_change(const std::vector<std::pair<std::string, std::string>>& replacements) {
    for (const auto& [from, to] : replacements) {
        CAPTURE(from);
        CAPTURE(to);
        auto d = reload(with_service(kService), with_service(replaced(kService, from, to)));
        CHECK(d.changed_services == Names{"svc"});
        CHECK(d.unchanged_services == Names{"db"});
        CHECK(d.added_services.empty());
        CHECK(d.removed_services.empty());
    }
}

}  // namespace diff_support
