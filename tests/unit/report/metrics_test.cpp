#include "report/metrics.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "resilience/circuit_breaker.hpp"
#include "sample.hpp"

using namespace mainstay;
using namespace mainstay::report;
using namespace mainstay::testing;
using resilience::Event;
using resilience::EventKind;

namespace {

// The text exposition format, read strictly enough to catch what Prometheus rejects.
struct Exposition {
    struct Sample {
        std::string name;
        std::map<std::string, std::string> labels;
        double value{0};
    };
    std::map<std::string, int> helps;
    std::map<std::string, int> types;
    std::map<std::string, std::string> type_of;
    std::vector<Sample> samples;
    std::vector<std::string> errors;

    // The value of the one sample of `name` whose labels include `labels`; fails when not one.
    double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
        const Sample* found = nullptr;
        int matches = 0;
        for (const auto& s : samples) {
            if (s.name != name || s.labels.size() != labels.size()) continue;
            bool all = true;
            for (const auto& [k, v] : labels) all = all && s.labels.count(k) && s.labels.at(k) == v;
            if (all) {
                found = &s;
                ++matches;
            }
        }
        REQUIRE_MESSAGE(matches == 1, name);
        return found->value;
    }
    std::size_t count(const std::string& name) const {
        std::size_t n = 0;
        for (const auto& s : samples) n += s.name == name ? 1 : 0;
        return n;
    }
};

bool name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

Exposition parse(const std::string& text) {
    Exposition x;
    std::istringstream in(text);
    std::string current;  // the family whose samples may follow
    std::set<std::string> closed;
    std::set<std::string> sample_keys;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
            std::istringstream words(line.substr(7));
            std::string name, rest;
            words >> name;
            std::getline(words, rest);
            if (current != name) {
                if (!current.empty()) closed.insert(current);
                if (closed.count(name)) x.errors.push_back("family " + name + " declared again: " + line);
                current = name;
            }
            if (line[2] == 'H')
                ++x.helps[name];
            else {
                ++x.types[name];
                x.type_of[name] = rest.empty() ? "" : rest.substr(1);
            }
            continue;
        }
        if (line.empty() || line[0] == '#') {
            x.errors.push_back("unexpected line: " + line);
            continue;
        }
        Exposition::Sample s;
        std::size_t i = 0;
        while (i < line.size() && name_char(line[i], i == 0)) ++i;
        s.name = line.substr(0, i);
        if (s.name.empty()) x.errors.push_back("no metric name: " + line);
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                std::size_t k = i;
                while (i < line.size() && name_char(line[i], i == k)) ++i;
                const std::string key = line.substr(k, i - k);
                if (key.empty() || line.compare(i, 2, "=\"") != 0) {
                    x.errors.push_back("bad label in: " + line);
                    break;
                }
                i += 2;
                std::string value;
                for (; i < line.size() && line[i] != '"'; ++i) {
                    if (line[i] == '\\' && i + 1 < line.size()) {
                        const char e = line[++i];
                        if (e == 'n')
                            value += '\n';
                        else if (e == '\\' || e == '"')
                            value += e;
                        else
                            x.errors.push_back("bad escape in: " + line);
                    } else {
                        value += line[i];
                    }
                }
                ++i;  // the closing quote
                s.labels[key] = value;
                if (i < line.size() && line[i] == ',') ++i;
            }
            ++i;  // the closing brace
        }
        if (i >= line.size() || line[i] != ' ') {
            x.errors.push_back("no value: " + line);
            continue;
        }
        const std::string number = line.substr(i + 1);
        char* end = nullptr;
        s.value = std::strtod(number.c_str(), &end);
        if (number.empty() || *end != '\0') x.errors.push_back("bad value: " + line);
        if (s.name != current) x.errors.push_back("sample outside its family (after # HELP and # TYPE): " + line);
        if (!x.helps.count(s.name) || !x.types.count(s.name))
            x.errors.push_back("sample before HELP and TYPE: " + line);
        std::string key = s.name;
        for (const auto& [k, v] : s.labels) key += "|" + k + "=" + v;
        if (!sample_keys.insert(key).second) x.errors.push_back("duplicate sample: " + line);
        x.samples.push_back(std::move(s));
    }
    return x;
}

const std::vector<std::string> kFamilies = {
    "mainstay_mode",
    "mainstay_startup_duration_seconds",
    "mainstay_service_ready",
    "mainstay_service_state",
    "mainstay_service_restarts_total",
    "mainstay_probe_failures_total",
    "mainstay_probe_duration_seconds",
    "mainstay_circuit_breaker_state",
    "mainstay_circuit_breaker_calls_total",
    "mainstay_circuit_breaker_transitions_total",
    "mainstay_retry_attempts_total",
    "mainstay_retry_exhausted_total",
    "mainstay_timeouts_total",
    "mainstay_health_transitions_total",
    "mainstay_capability_state",
    "mainstay_capability_tier",
    "mainstay_service_next_attempt_seconds",
    "mainstay_output_dropped_lines_total",
    "mainstay_events_total",
};

Event ev(EventKind kind, std::string owner, std::string operation = {}, std::string to = {}) {
    Event e;
    e.kind = kind;
    e.owner = std::move(owner);
    e.operation = std::move(operation);
    e.to = std::move(to);
    return e;
}

// Events from a real breaker (web: open, then half-open) and a few by hand.
MetricsCounters fed_counters() {
    MetricsCounters c;
    resilience::CircuitBreaker breaker({2, 30s, 1, 1}, {&c, "web", "restart"});
    breaker.on_failure(kSteadyNow);
    breaker.on_failure(kSteadyNow);
    breaker.poll(kSteadyNow + 30s);
    c.on_event(ev(EventKind::recovery_attempt, "web", "restart"));
    c.on_event(ev(EventKind::recovery_attempt, "web", "restart"));
    c.on_event(ev(EventKind::retry_attempt, "ext", "wake"));
    c.on_event(ev(EventKind::retry_exhausted, "ext", "wake"));
    c.on_event(ev(EventKind::recovery_paused, "web", "restart"));
    c.on_event(ev(EventKind::timeout, "web", "readiness"));
    c.on_event(ev(EventKind::timeout, "web", "readiness"));
    c.on_event(ev(EventKind::timeout, "ext", "wake"));
    c.on_event(ev(EventKind::health_transition, "web", "readiness", "unhealthy"));
    c.on_event(ev(EventKind::health_transition, "web", "readiness", "healthy"));
    return c;
}

const std::vector<OutputDrop> kDrops = {{"web", "console", 2}, {"web", "file", 7}, {"web", "console", 3}};

}  // namespace

TEST_CASE("the counters count breaker, retry, exhaustion, timeout, health and every event by kind") {
    const MetricsCounters c = fed_counters();
    CHECK(c.breaker_transitions("web", "open") == 1);
    CHECK(c.breaker_transitions("web", "half-open") == 1);
    CHECK(c.breaker_transitions("web", "closed") == 0);
    CHECK(c.retry_attempts("web") == 2);
    CHECK(c.retry_attempts("ext") == 1);
    CHECK(c.retry_exhausted("ext") == 1);
    CHECK(c.retry_exhausted("web") == 1);
    CHECK(c.timeouts("web", "readiness") == 2);
    CHECK(c.timeouts("ext", "wake") == 1);
    CHECK(c.health_transitions("web", "unhealthy") == 1);
    CHECK(c.events(EventKind::breaker_transition) == 2);
    CHECK(c.events(EventKind::timeout) == 3);
    CHECK(c.events(EventKind::capability_transition) == 0);
}

TEST_CASE(
    "the exposition is well formed: every family once with HELP and TYPE before its samples, counters end in _total") {
    const std::string text = render_prometheus(sample_model(), fed_counters(), kDrops, kSteadyNow);
    const Exposition x = parse(text);
    for (const auto& e : x.errors) FAIL_CHECK(e);
    CHECK(x.errors.empty());
    for (const auto& f : kFamilies) {
        CHECK_MESSAGE(x.helps.count(f) == 1, f);
        CHECK_MESSAGE(x.types.count(f) == 1, f);
        if (x.helps.count(f)) CHECK_MESSAGE(x.helps.at(f) == 1, f);
        if (x.types.count(f)) CHECK_MESSAGE(x.types.at(f) == 1, f);
    }
    CHECK(x.types.size() == kFamilies.size());
    for (const auto& [name, type] : x.type_of) {
        const bool total = name.size() > 6 && name.substr(name.size() - 6) == "_total";
        CHECK_MESSAGE((type == "counter" || type == "gauge"), name);
        CHECK_MESSAGE(total == (type == "counter"), name);
    }
    CHECK(text.back() == '\n');
}

TEST_CASE("the exposition has the values of the model, the counters and the drops") {
    const Exposition x = parse(render_prometheus(sample_model(), fed_counters(), kDrops, kSteadyNow));
    REQUIRE(x.errors.empty());
    CHECK(x.value("mainstay_mode", {{"mode", "degraded"}}) == 1);
    CHECK(x.value("mainstay_mode", {{"mode", "full"}}) == 0);
    CHECK(x.count("mainstay_mode") == 5);
    CHECK(x.value("mainstay_startup_duration_seconds") == doctest::Approx(0.812));
    CHECK(x.value("mainstay_service_ready", {{"service", "web"}}) == 1);
    CHECK(x.value("mainstay_service_ready", {{"service", "docker"}}) == 0);
    CHECK(x.value("mainstay_service_state", {{"service", "docker"}, {"state", "recovering"}}) == 1);
    CHECK(x.value("mainstay_service_state", {{"service", "docker"}, {"state", "ready"}}) == 0);
    CHECK(x.count("mainstay_service_state") == 3 * 12);
    double docker_states = 0;
    for (const auto& s : x.samples) {
        if (s.name == "mainstay_service_state" && s.labels.at("service") == "docker") docker_states += s.value;
    }
    CHECK(docker_states == 1);
    CHECK(x.value("mainstay_service_restarts_total", {{"service", "docker"}}) == 3);
    CHECK(x.value("mainstay_probe_failures_total", {{"service", "docker"}, {"probe", "readiness"}}) == 3);
    CHECK(x.value("mainstay_probe_duration_seconds", {{"service", "docker"}, {"probe", "readiness"}}) ==
          doctest::Approx(0.25));
    CHECK(x.value("mainstay_circuit_breaker_state", {{"service", "docker"}}) == 2);
    CHECK(x.value("mainstay_circuit_breaker_calls_total", {{"service", "docker"}, {"result", "success"}}) == 12);
    CHECK(x.value("mainstay_circuit_breaker_calls_total", {{"service", "docker"}, {"result", "failure"}}) == 9);
    CHECK(x.value("mainstay_circuit_breaker_calls_total", {{"service", "docker"}, {"result", "rejected"}}) == 3);
    CHECK(x.value("mainstay_circuit_breaker_state", {{"service", "web"}}) == 0);
    CHECK(x.value("mainstay_circuit_breaker_transitions_total", {{"service", "web"}, {"to", "open"}}) == 1);
    CHECK(x.value("mainstay_circuit_breaker_transitions_total", {{"service", "web"}, {"to", "half-open"}}) == 1);
    CHECK(x.value("mainstay_circuit_breaker_transitions_total", {{"service", "web"}, {"to", "closed"}}) == 0);
    CHECK(x.value("mainstay_circuit_breaker_transitions_total", {{"service", "docker"}, {"to", "open"}}) == 0);
    CHECK(x.value("mainstay_retry_attempts_total", {{"service", "web"}}) == 2);
    CHECK(x.value("mainstay_retry_attempts_total", {{"service", "ext"}}) == 1);  // known to the counters only
    CHECK(x.value("mainstay_retry_attempts_total", {{"service", "docker"}}) == 0);
    CHECK(x.value("mainstay_retry_exhausted_total", {{"service", "ext"}}) == 1);
    CHECK(x.value("mainstay_retry_exhausted_total", {{"service", "web"}}) == 1);
    CHECK(x.value("mainstay_timeouts_total", {{"service", "web"}, {"operation", "readiness"}}) == 2);
    CHECK(x.value("mainstay_timeouts_total", {{"service", "ext"}, {"operation", "wake"}}) == 1);
    CHECK(x.value("mainstay_health_transitions_total", {{"service", "web"}, {"to", "unhealthy"}}) == 1);
    CHECK(x.value("mainstay_health_transitions_total", {{"service", "docker"}, {"to", "healthy"}}) == 0);
    CHECK(x.value("mainstay_capability_state", {{"capability", "local-llm"}, {"state", "degraded"}}) == 1);
    CHECK(x.value("mainstay_capability_state", {{"capability", "local-llm"}, {"state", "full"}}) == 0);
    CHECK(x.value("mainstay_capability_tier", {{"capability", "local-llm"}, {"tier", "full"}}) == 0);
    CHECK(x.value("mainstay_service_next_attempt_seconds", {{"service", "docker"}}) == 8);
    CHECK(x.value("mainstay_service_next_attempt_seconds", {{"service", "web"}}) == 0);
    CHECK(x.value("mainstay_output_dropped_lines_total", {{"service", "web"}, {"sink", "console"}}) == 5);
    CHECK(x.value("mainstay_output_dropped_lines_total", {{"service", "web"}, {"sink", "file"}}) == 7);
    CHECK(x.value("mainstay_events_total", {{"kind", "timeout"}}) == 3);
    CHECK(x.value("mainstay_events_total", {{"kind", "breaker_transition"}}) == 2);
    CHECK(x.value("mainstay_events_total", {{"kind", "capability_hook_failed"}}) == 0);
    CHECK(x.count("mainstay_events_total") == 12);
}

TEST_CASE("with nothing to report every family still has its HELP and TYPE") {
    const std::string text = render_prometheus(supervisor::StatusModel{}, MetricsCounters{}, {}, kSteadyNow);
    const Exposition x = parse(text);
    CHECK(x.errors.empty());
    for (const auto& f : kFamilies) {
        CHECK_MESSAGE(x.helps.count(f) == 1, f);
        CHECK_MESSAGE(x.types.count(f) == 1, f);
    }
    CHECK(x.count("mainstay_service_state") == 0);
    CHECK(x.value("mainstay_mode", {{"mode", "starting"}}) == 1);
}

TEST_CASE("label values are escaped: backslash, quote and newline") {
    CHECK(escape_label("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
    auto m = sample_model();
    m.services[2].name = "we\"ird\\name\nx";
    const std::string text = render_prometheus(m, MetricsCounters{}, {}, kSteadyNow);
    CHECK(text.find("mainstay_service_ready{service=\"we\\\"ird\\\\name\\nx\"} 1\n") != std::string::npos);
    const Exposition x = parse(text);
    CHECK(x.errors.empty());
    CHECK(x.value("mainstay_service_ready", {{"service", "we\"ird\\name\nx"}}) == 1);
}

TEST_CASE("while the startup phase runs, its duration is the time so far") {
    auto m = sample_model();
    m.mode = supervisor::Mode::starting;
    m.startup_done = false;
    m.startup_duration.reset();
    const Exposition x = parse(render_prometheus(m, MetricsCounters{}, {}, kSteadyNow + 500ms));
    CHECK(x.value("mainstay_startup_duration_seconds") == doctest::Approx(2.5));
}

TEST_CASE("promtool check metrics accepts the exposition") {
    if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
        MESSAGE("promtool is not installed: skipped");
        return;
    }
    const std::string text = render_prometheus(sample_model(), fed_counters(), kDrops, kSteadyNow);
    FILE* pipe = popen("promtool check metrics", "w");
    REQUIRE(pipe != nullptr);
    CHECK(std::fwrite(text.data(), 1, text.size(), pipe) == text.size());
    CHECK(pclose(pipe) == 0);
}
