#include "config/service_parts.hpp"

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdlib>
#include <regex>
#include <set>

#include "config/env_file.hpp"
#include "config/map_reader.hpp"
#include "config/probe_loader.hpp"

namespace mainstay::config {

void read_backoff(const Node& node, resilience::BackoffParams& out, Diagnostics& diags) {
    if (!expect_map(node, "backoff", diags)) return;
    MapReader r(node, diags);
    using S = resilience::BackoffStrategy;
    static const std::vector<std::pair<std::string_view, S>> kStrategies = [] {
        std::vector<std::pair<std::string_view, S>> words;
        for (S s : {S::exponential, S::linear, S::constant}) words.emplace_back(resilience::to_string(s), s);
        return words;
    }();
    r.enumeration("strategy", out.strategy, kStrategies);
    r.duration("initial", out.initial);
    r.duration("max", out.max);
    r.number("multiplier", out.multiplier, 1.0);
    r.optional_duration("step", out.step);
    if (const Node* step = r.get("step"); step && out.strategy != S::linear) {
        diags.error(step->mark, "'step' is for strategy linear (initial, initial + step, ...); this backoff is " +
                                    std::string(resilience::to_string(out.strategy)));
    }
    if (const Node* m = r.get("multiplier"); m && out.strategy != S::exponential) {
        diags.error(m->mark, "'multiplier' is for strategy exponential; this backoff is " +
                                 std::string(resilience::to_string(out.strategy)));
    }
    using J = resilience::Jitter;
    // SPEC's four words, spelled by the resilience layer's own name table, or a fraction "10%":
    // each delay times a random factor in [0.9, 1.1].
    static const std::vector<std::pair<std::string_view, J>> kJitters = [] {
        std::vector<std::pair<std::string_view, J>> words;
        for (J j : {J::none, J::full, J::equal, J::decorrelated}) words.emplace_back(resilience::to_string(j), j);
        return words;
    }();
    const Node* jitter = r.get("jitter");
    if (jitter && jitter->is_scalar() && jitter->scalar.ends_with('%')) {
        const std::string number = jitter->scalar.substr(0, jitter->scalar.size() - 1);
        char* end = nullptr;
        const double percent = number.empty() ? -1 : std::strtod(number.c_str(), &end);
        if (end == nullptr || *end != '\0' || !(percent > 0 && percent <= 100)) {
            diags.error(jitter->mark, "'jitter' as a fraction must be above 0% and at most 100% (e.g. \"10%\"), got '" +
                                          jitter->scalar + "'");
        } else {
            out.jitter = J::proportional;
            out.jitter_fraction = percent / 100.0;
        }
    } else {
        r.enumeration("jitter", out.jitter, kJitters);
    }
    if (out.initial > out.max) {
        const Node* at = r.get("initial") ? r.get("initial") : r.get("max");
        diags.error(at->mark, "backoff 'initial' (" + format_duration(out.initial) + ") must not be above 'max' (" +
                                  format_duration(out.max) + ")");
    }
    r.finish();
}

void read_retry(const Node& node, resilience::RetryParams& out, Diagnostics& diags) {
    if (!expect_map(node, "retry", diags)) return;
    MapReader r(node, diags);
    r.count("max_attempts", out.max_attempts, 1);
    r.duration("timeout", out.timeout);
    if (const Node* b = r.get("backoff")) read_backoff(*b, out.backoff, diags);
    r.finish();
}

// `permanent_exit_codes: [77, 78]`: exits that mean "do not retry".
void read_exit_codes(MapReader& r, std::string_view key, std::vector<int>& out) {
    const Node* codes = r.get(key);
    if (codes == nullptr) return;
    if (auto list = read_string_list(*codes, key, r.diags())) {
        out.clear();
        for (const auto& [text, at] : *list) {
            auto v = parse_integer(text);
            if (v && *v.value >= 0 && *v.value <= 255)
                out.push_back(static_cast<int>(*v.value));
            else
                r.diags().error(at, "exit codes must be from 0 to 255, got '" + text + "'");
        }
    }
}

void read_restart(const Node& node, RestartSpec& out, Diagnostics& diags) {
    if (!expect_map(node, "restart", diags)) return;
    MapReader r(node, diags);
    r.enumeration("policy", out.policy,
                  {{"always", RestartPolicy::always},
                   {"on-failure", RestartPolicy::on_failure},
                   {"never", RestartPolicy::never}});
    if (const Node* b = r.get("backoff")) read_backoff(*b, out.backoff, diags);
    r.duration("reset_after", out.reset_after);
    read_exit_codes(r, "permanent_exit_codes", out.permanent_exit_codes);
    if (const Node* cb = r.get("circuit_breaker"); cb && expect_map(*cb, "circuit_breaker", diags)) {
        MapReader b(*cb, diags);
        b.count("failure_threshold", out.circuit_breaker.failure_threshold, 1);
        b.duration("recovery_timeout", out.circuit_breaker.recovery_timeout);
        b.count("half_open_successes", out.circuit_breaker.half_open_successes, 1);
        b.count("half_open_max_calls", out.circuit_breaker.half_open_max_calls, 1);
        b.finish();
    }
    r.finish();
}

void read_depends_on(const Node& node, std::vector<Dependency>& out, Diagnostics& diags) {
    auto add = [&](const std::string& name, const Mark& at) -> Dependency* {
        if (!is_valid_name(name)) {
            diags.error(at, "'" + name + "' is not a valid service name");
            return nullptr;
        }
        if (std::any_of(out.begin(), out.end(), [&](const Dependency& d) { return d.name == name; })) {
            diags.error(at, "'" + name + "' is listed twice in 'depends_on'");
            return nullptr;
        }
        out.push_back({name, Condition::healthy, true, at});
        return &out.back();
    };
    if (node.is_sequence()) {
        for (const auto& item : node.items) {
            if (item.is_scalar())
                add(item.scalar, item.mark);
            else
                diags.error(item.mark, "'depends_on' list items must be service names, got " + describe(item));
        }
    } else if (node.is_map()) {
        for (const auto& e : node.entries) {
            if (e.key.starts_with("x-")) continue;
            Dependency* dep = add(e.key, e.key_mark);
            if (dep == nullptr || e.value.is_null()) continue;
            if (!e.value.is_map()) {
                diags.error(e.value.mark, "dependency '" + e.key +
                                              "' must be a map such as {condition: healthy, required: true}, got " +
                                              describe(e.value));
                continue;
            }
            MapReader r(e.value, diags);
            r.enumeration("condition", dep->condition,
                          {{"started", Condition::started},
                           {"healthy", Condition::healthy},
                           {"completed", Condition::completed}});
            r.boolean("required", dep->required);
            r.boolean("restart", dep->restart);
            r.finish();
        }
    } else {
        diags.error(node.mark, "'depends_on' must be a map or a list of names, got " + describe(node));
    }
}

// `ready:`: one source of pushed readiness (notify, fd or log_line), `watchdog` with notify.
void read_ready(const Node& node, ReadySpec& out, Diagnostics& diags) {
    MapReader v(node, diags);
    v.boolean("notify", out.notify);
    if (const Node* fd = v.get("fd")) {
        std::uint32_t n = 0;
        v.count("fd", n, 3);
        if (n > 1023) diags.error(fd->mark, "ready.fd must be a descriptor from 3 to 1023, got " + std::to_string(n));
        if (n >= 3 && n <= 1023) out.fd = static_cast<int>(n);
    }
    v.optional_string("log_line", out.log_line);
    if (out.log_line) {
        try {
            std::regex check(*out.log_line);
        } catch (const std::regex_error& e) {
            const Node* at = v.get("log_line");
            diags.error(at ? at->mark : node.mark,
                        "ready.log_line is not a valid regular expression: " + std::string(e.what()));
        }
    }
    if (const Node* watchdog = v.get("watchdog")) {
        Duration every{};
        v.positive_duration("watchdog", every);
        if (!out.notify)
            diags.error(watchdog->mark,
                        "ready.watchdog needs ready.notify: true (WATCHDOG=1 comes on the notify socket)");
        else
            out.watchdog = every;
    }
    if (int(out.notify) + int(out.fd.has_value()) + int(out.log_line.has_value()) > 1) {
        diags.error(node.mark, "'ready' takes one source: notify, fd or log_line");
    }
    v.finish();
}

void read_probes(const Node& node, ProbesSpec& out, Diagnostics& diags) {
    if (!expect_map(node, "probes", diags)) return;
    MapReader r(node, diags);
    if (const Node* p = r.get("startup")) out.startup = read_probe(*p, "startup", diags);
    if (const Node* p = r.get("readiness")) out.readiness = read_probe(*p, "readiness", diags);
    if (const Node* p = r.get("liveness")) out.liveness = read_probe(*p, "liveness", diags);
    r.finish();
}

void read_limits(const Node& node, std::optional<LimitsSpec>& out, Diagnostics& diags) {
    if (!expect_map(node, "limits", diags)) return;
    MapReader r(node, diags);
    LimitsSpec limits;
    limits.mark = node.mark;
    if (const Node* n = r.get("memory")) {
        std::uint64_t bytes = 0;
        const std::size_t errors = diags.error_count();
        r.size("memory", bytes);
        if (diags.error_count() == errors && bytes < 4096)
            diags.error(n->mark, "'memory' must be at least 4KiB, got '" + n->scalar + "'");
        else if (diags.error_count() == errors)
            limits.memory = bytes;
    }
    if (r.get("cpu")) {
        double cpus = 0;
        const std::size_t errors = diags.error_count();
        r.number("cpu", cpus, 0.01);  // cpu.max takes at least 1 ms per 100 ms
        if (diags.error_count() == errors) limits.cpu = cpus;
    }
    if (r.get("pids")) {
        std::uint32_t pids = 0;
        const std::size_t errors = diags.error_count();
        r.count("pids", pids, 1);
        if (diags.error_count() == errors) limits.pids = pids;
    }
    r.finish();
    out = limits;
}

}  // namespace mainstay::config
