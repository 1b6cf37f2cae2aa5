#include "cli/plan.hpp"

#include <cstdio>

#include "config/graph.hpp"
#include "config/values.hpp"
#include "resilience/backoff.hpp"

namespace mainstay::cli {

using namespace mainstay::config;

namespace {

// "exponential: 1s, 2s, 4s, 8s, 16s (max 5m; jitter full: each wait random between 0 and it)":
// the first five waits before jitter, and what jitter does to them.
std::string describe_backoff(const resilience::BackoffParams& b) {
    std::string out = std::string(resilience::to_string(b.strategy)) + ":";
    for (std::uint32_t n = 1; n <= 5; ++n) {
        out += (n > 1 ? ", " : " ") + format_duration(resilience::Backoff::base_delay(b, n));
    }
    out += " (max " + format_duration(b.max) + "; ";
    switch (b.jitter) {
        case resilience::Jitter::none:
            out += "no jitter";
            break;
        case resilience::Jitter::full:
            out += "jitter full: each wait random between 0 and it";
            break;
        case resilience::Jitter::equal:
            out += "jitter equal: each wait random between half of it and it";
            break;
        case resilience::Jitter::decorrelated:
            out += "jitter decorrelated: each wait random between " + format_duration(b.initial) + " and 3x the last";
            break;
        case resilience::Jitter::proportional: {
            char percent[32];
            std::snprintf(percent, sizeof percent, "%g%%", b.jitter_fraction * 100);
            out += std::string("jitter ") + percent + ": each wait within " + percent + " of it";
            break;
        }
    }
    return out + ")";
}

// "READY=1 on its NOTIFY_SOCKET (sd_notify; watchdog 30s)", "up for 1s (no readiness probe)".
std::string describe_readiness(const ServiceSpec& s) {
    const std::string_view source = ready_source(s);
    std::string probe_too = s.probes.readiness ? ", and its readiness probe passing" : "";
    if (source == "exit") return "completed: its command exits 0 (oneshot)";
    if (source == "notify") {
        return "READY=1 on its NOTIFY_SOCKET (sd_notify" +
               (s.ready.watchdog ? "; watchdog: WATCHDOG=1 at least every " + format_duration(*s.ready.watchdog)
                                 : std::string()) +
               ")" + probe_too;
    }
    if (source == "fd")
        return "a newline on its fd " + std::to_string(*s.ready.fd) + " (s6 notification fd)" + probe_too;
    if (source == "log_line") return "an output line matching \"" + *s.ready.log_line + "\"" + probe_too;
    if (source == "probe") return "its readiness probe passing";
    return "up for " + format_duration(s.ready_after) + " (ready_after; no readiness probe)";
}

}  // namespace

std::string describe_plan(const Config& config) {
    DependencyGraph graph(config.services);
    std::string out;
    out += "services dir: " + config.main.services_dir.string() + "\n";
    out += "start order (" + std::to_string(config.services.size()) + " services; a wave starts together):\n";
    int wave_number = 0;
    for (const auto& wave : graph.start_waves()) {
        out += "  wave " + std::to_string(++wave_number) + ":\n";
        for (auto i : wave) {
            const ServiceSpec& s = config.services[i];
            out += "    " + s.name + " (" + std::string(to_string(s.kind)) + (s.critical ? ", critical" : "") +
                   (s.enabled ? "" : ", disabled") + ")";
            auto deps = graph.dependencies_of(i);
            if (!deps.empty()) {
                out += " after ";
                for (std::size_t d = 0; d < deps.size(); ++d) {
                    out += (d ? ", " : "") + graph.name(deps[d]->to) + " " +
                           std::string(to_string(deps[d]->condition)) + (deps[d]->required ? "" : " (soft)") +
                           (deps[d]->restart ? " (restarts with it)" : "");
                }
            }
            out += "\n";
        }
    }
    out += "stop order:";
    for (const auto& wave : graph.stop_waves()) {
        out += " [";
        for (std::size_t k = 0; k < wave.size(); ++k) out += (k ? " " : "") + graph.name(wave[k]);
        out += "]";
    }
    out += "\n";
    out += "readiness (what makes each one ready):\n";
    for (const auto& s : config.services) out += "  " + s.name + ": " + describe_readiness(s) + "\n";
    out += "retry schedules (the first five waits; a circuit breaker can make a wait longer):\n";
    for (const auto& s : config.services) {
        if (s.kind != Kind::external) {
            out += "  " + s.name + ": restart " + describe_backoff(s.restart.backoff) + "\n";
        }
        if (s.wake) {
            out += "  " + s.name + ": wake (at most " + std::to_string(s.wake->retry.max_attempts) + " attempts) " +
                   describe_backoff(s.wake->retry.backoff) + "\n";
        }
    }
    for (const auto& c : config.capabilities) {
        if (c.activate || c.deactivate) {
            out += "  " + c.name + ": hooks (at most " + std::to_string(c.hook_retry.max_attempts) + " attempts) " +
                   describe_backoff(c.hook_retry.backoff) + "\n";
        }
    }
    if (!config.capabilities.empty()) {
        out += "capabilities:\n";
        for (const auto& c : config.capabilities) {
            out += "  " + c.name + (c.enabled ? "" : " (disabled)") + ": full when ready:";
            for (const auto& r : c.requires_services) out += " " + r;
            if (c.check) out += " and its check passes";
            out += "\n";
        }
    }
    return out;
}

}  // namespace mainstay::cli
