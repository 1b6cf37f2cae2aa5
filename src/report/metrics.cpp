#include "report/metrics.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>

namespace mainstay::report {

using resilience::EventKind;

namespace {

template <typename Map, typename Key>
std::uint64_t lookup(const Map& m, const Key& k) {
    auto it = m.find(k);
    return it == m.end() ? 0 : it->second;
}

constexpr std::array kEventKinds = {
    EventKind::breaker_transition,
    EventKind::retry_attempt,
    EventKind::retry_exhausted,
    EventKind::retry_failed_permanent,
    EventKind::timeout,
    EventKind::health_transition,
    EventKind::recovery_attempt,
    EventKind::recovery_succeeded,
    EventKind::recovery_paused,
    EventKind::recovery_resumed,
    EventKind::capability_transition,
    EventKind::capability_hook_failed,
};
constexpr std::array<std::string_view, 3> kBreakerStates = {"closed", "half-open", "open"};
constexpr std::array<std::string_view, 3> kHealthStates = {"unknown", "healthy", "unhealthy"};
constexpr std::array kModes = {supervisor::Mode::starting, supervisor::Mode::full, supervisor::Mode::degraded,
                               supervisor::Mode::critical, supervisor::Mode::stopping};
constexpr std::array kStates = {
    supervisor::State::waiting,    supervisor::State::blocked,   supervisor::State::starting,
    supervisor::State::running,    supervisor::State::ready,     supervisor::State::unhealthy,
    supervisor::State::recovering, supervisor::State::paused,    supervisor::State::stopping,
    supervisor::State::stopped,    supervisor::State::completed, supervisor::State::failed,
};
constexpr std::array kCapabilityStates = {resilience::CapabilityState::degraded, resilience::CapabilityState::upgrading,
                                          resilience::CapabilityState::full};

// Milliseconds as seconds, exactly: 812 -> "0.812", 8000 -> "8", 250 -> "0.25".
std::string seconds(Duration d) {
    const std::int64_t ms = std::max<std::int64_t>(0, d.count());
    std::string out = std::to_string(ms / 1000);
    if (const std::int64_t frac = ms % 1000; frac != 0) {
        std::string f = std::to_string(frac);
        f.insert(0, 3 - f.size(), '0');
        while (f.back() == '0') f.pop_back();
        out += "." + f;
    }
    return out;
}

// One family: HELP and TYPE, then its samples.
class Family {
public:
    Family(std::string& out, std::string_view name, std::string_view type, std::string_view help)
        : out_(out), name_(name) {
        out_ += "# HELP " + name_ + " " + std::string(help) + "\n";
        out_ += "# TYPE " + name_ + " " + std::string(type) + "\n";
    }
    // `labels`: (name, value) pairs.
    void sample(std::initializer_list<std::pair<std::string_view, std::string_view>> labels, const std::string& value) {
        out_ += name_;
        if (labels.size() > 0) {
            out_ += "{";
            bool first = true;
            for (const auto& [k, v] : labels) {
                if (!first) out_ += ",";
                first = false;
                out_ += std::string(k) + "=\"" + escape_label(v) + "\"";
            }
            out_ += "}";
        }
        out_ += " " + value + "\n";
    }
    void sample(std::initializer_list<std::pair<std::string_view, std::string_view>> labels, std::uint64_t value) {
        sample(labels, std::to_string(value));
    }

private:
    std::string& out_;
    std::string name_;
};

}  // namespace

void MetricsCounters::on_event(const resilience::Event& e) {
    ++events_[e.kind];
    switch (e.kind) {
        case EventKind::breaker_transition:
            ++breaker_transitions_[{e.owner, e.to}];
            break;
        case EventKind::retry_attempt:
        case EventKind::recovery_attempt:
            ++retry_attempts_[e.owner];
            break;
        case EventKind::retry_exhausted:
        case EventKind::recovery_paused:
            ++retry_exhausted_[e.owner];
            break;
        case EventKind::timeout:
            ++timeouts_[{e.owner, e.operation}];
            break;
        case EventKind::health_transition:
            ++health_transitions_[{e.owner, e.to}];
            break;
        default:
            break;
    }
}

std::uint64_t MetricsCounters::breaker_transitions(const std::string& service, const std::string& to) const {
    return lookup(breaker_transitions_, Pair{service, to});
}
std::uint64_t MetricsCounters::retry_attempts(const std::string& service) const {
    return lookup(retry_attempts_, service);
}
std::uint64_t MetricsCounters::retry_exhausted(const std::string& service) const {
    return lookup(retry_exhausted_, service);
}
std::uint64_t MetricsCounters::timeouts(const std::string& service, const std::string& operation) const {
    return lookup(timeouts_, Pair{service, operation});
}
std::uint64_t MetricsCounters::health_transitions(const std::string& service, const std::string& to) const {
    return lookup(health_transitions_, Pair{service, to});
}
std::uint64_t MetricsCounters::events(EventKind kind) const {
    return lookup(events_, kind);
}

std::string escape_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string render_prometheus(const supervisor::StatusModel& model, const MetricsCounters& counters,
                              const std::vector<OutputDrop>& drops, TimePoint now) {
    std::string out;
    // Services: those in the model, and those only the counters still remember (removed by a reload).
    std::set<std::string> services;
    for (const auto& s : model.services) services.insert(s.name);

    {
        Family f(out, "mainstay_mode", "gauge", "The mode of the whole: 1 for the current one, 0 for the others.");
        for (auto m : kModes) f.sample({{"mode", supervisor::to_string(m)}}, m == model.mode ? 1 : 0);
    }
    {
        Family f(out, "mainstay_startup_duration_seconds", "gauge",
                 "How long the startup phase took (while it runs: how long so far).");
        Duration d = model.startup_duration.value_or(Duration{0});
        if (!model.startup_done && !model.startup_duration) d = resilience::remaining(model.mode_since, now);
        f.sample({}, seconds(d));
    }
    {
        Family f(out, "mainstay_service_ready", "gauge", "1 when the service is available to its dependents, else 0.");
        for (const auto& s : model.services) f.sample({{"service", s.name}}, s.ready ? 1 : 0);
    }
    {
        Family f(out, "mainstay_service_state", "gauge",
                 "The state of each service: 1 for the current one, 0 for the others.");
        for (const auto& s : model.services) {
            for (auto st : kStates)
                f.sample({{"service", s.name}, {"state", supervisor::to_string(st)}}, st == s.state ? 1 : 0);
        }
    }
    {
        Family f(out, "mainstay_service_restarts_total", "counter", "Times the service's process was started again.");
        for (const auto& s : model.services) f.sample({{"service", s.name}}, std::uint64_t{s.restarts});
    }
    {
        Family f(out, "mainstay_probe_failures_total", "counter", "Failed probe attempts, timeouts included.");
        for (const auto& s : model.services) {
            for (const auto& p : s.probes)
                f.sample({{"service", s.name}, {"probe", supervisor::to_string(p.kind)}}, p.failures);
        }
    }
    {
        Family f(out, "mainstay_probe_duration_seconds", "gauge", "How long the last attempt of the probe took.");
        for (const auto& s : model.services) {
            for (const auto& p : s.probes) {
                if (p.last_duration)
                    f.sample({{"service", s.name}, {"probe", supervisor::to_string(p.kind)}},
                             seconds(*p.last_duration));
            }
        }
    }
    {
        Family f(out, "mainstay_circuit_breaker_state", "gauge",
                 "The restart circuit breaker: 0 closed, 1 half-open, 2 open.");
        for (const auto& s : model.services) {
            const int v = s.breaker == "open" ? 2 : s.breaker == "half-open" ? 1 : 0;
            f.sample({{"service", s.name}}, std::to_string(v));
        }
    }
    {
        Family f(out, "mainstay_circuit_breaker_calls_total", "counter",
                 "Calls through each service's circuit breaker (its restarts, or an external service's wakes): "
                 "admitted ones by result, and those rejected while it was open.");
        for (const auto& s : model.services) {
            const auto& b = s.breaker_figures;
            f.sample({{"service", s.name}, {"result", "success"}}, std::to_string(b.successes));
            f.sample({{"service", s.name}, {"result", "failure"}}, std::to_string(b.failures));
            f.sample({{"service", s.name}, {"result", "rejected"}}, std::to_string(b.rejected));
        }
    }
    {
        Family f(out, "mainstay_circuit_breaker_transitions_total", "counter",
                 "Circuit breaker transitions, by the state entered.");
        std::set<MetricsCounters::Pair> keys;
        for (const auto& s : services) {
            for (auto to : kBreakerStates) keys.insert({s, std::string(to)});
        }
        for (const auto& [k, v] : counters.breaker_transitions()) keys.insert(k);
        for (const auto& k : keys)
            f.sample({{"service", k.first}, {"to", k.second}}, lookup(counters.breaker_transitions(), k));
    }
    auto per_service = [&](std::string_view name, std::string_view help,
                           const std::map<std::string, std::uint64_t>& counts) {
        Family f(out, name, "counter", help);
        std::set<std::string> keys = services;
        for (const auto& [k, v] : counts) keys.insert(k);
        for (const auto& k : keys) f.sample({{"service", k}}, lookup(counts, k));
    };
    per_service("mainstay_retry_attempts_total", "Retries begun after a failure: restart attempts and wake retries.",
                counters.retry_attempts());
    per_service("mainstay_retry_exhausted_total",
                "Times retrying gave up: wake retries ran out or the safety valve paused recovery.",
                counters.retry_exhausted());
    {
        Family f(out, "mainstay_timeouts_total", "counter",
                 "Operations that timed out: probes by kind, wake commands.");
        for (const auto& [k, v] : counters.timeouts()) f.sample({{"service", k.first}, {"operation", k.second}}, v);
    }
    {
        Family f(out, "mainstay_health_transitions_total", "counter",
                 "Probe health transitions, by the state entered.");
        std::set<MetricsCounters::Pair> keys;
        for (const auto& s : model.services) {
            if (s.probes.empty()) continue;  // no probe, no health
            for (auto to : kHealthStates) keys.insert({s.name, std::string(to)});
        }
        for (const auto& [k, v] : counters.health_transitions()) keys.insert(k);
        for (const auto& k : keys)
            f.sample({{"service", k.first}, {"to", k.second}}, lookup(counters.health_transitions(), k));
    }
    {
        Family f(out, "mainstay_capability_state", "gauge",
                 "The state of each capability: 1 for the current one, 0 for the others.");
        for (const auto& c : model.capabilities) {
            for (auto st : kCapabilityStates)
                f.sample({{"capability", c.name}, {"state", resilience::to_string(st)}}, st == c.state ? 1 : 0);
        }
    }
    {
        Family f(out, "mainstay_capability_tier", "gauge",
                 "The tier of each capability: 1 for the active one, 0 for the others.");
        for (const auto& c : model.capabilities) {
            for (const auto& t : c.tiers) f.sample({{"capability", c.name}, {"tier", t}}, c.tier == t ? 1 : 0);
        }
    }
    {
        Family f(out, "mainstay_service_next_attempt_seconds", "gauge",
                 "Time until the next recovery attempt, 0 when none is pending.");
        for (const auto& s : model.services)
            f.sample({{"service", s.name}}, seconds(s.next_attempt_in.value_or(Duration{0})));
    }
    {
        Family f(out, "mainstay_output_dropped_lines_total", "counter",
                 "Output lines dropped rather than stalling, by sink.");
        std::map<MetricsCounters::Pair, std::uint64_t> sums;  // one sample per label set, even if listed twice
        for (const auto& d : drops) sums[{d.service, d.sink}] += d.lines;
        for (const auto& [k, v] : sums) f.sample({{"service", k.first}, {"sink", k.second}}, v);
    }
    {
        Family f(out, "mainstay_events_total", "counter", "Resilience events, by kind.");
        for (auto k : kEventKinds) f.sample({{"kind", resilience::to_string(k)}}, counters.events(k));
    }
    return out;
}

}  // namespace mainstay::report
