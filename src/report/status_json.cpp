#include "report/status_json.hpp"

#include <nlohmann/json.hpp>

namespace mainstay::report {

namespace {

using nlohmann::json;

json ms_or_null(const std::optional<Duration>& d) {
    return d ? json(d->count()) : json(nullptr);
}

json time_or_null(const std::optional<TimePoint>& t, TimePoint steady_now, WallTime wall_now) {
    return t ? json(iso_time(wall_time(*t, steady_now, wall_now))) : json(nullptr);
}

json breaker(const supervisor::ServiceStatus& s, TimePoint steady_now, WallTime wall_now) {
    const auto& b = s.breaker_figures;
    return {{"state", s.breaker},
            {"operation", b.operation},
            {"failures", b.consecutive_failures},
            {"failure_threshold", b.failure_threshold},
            {"successes", b.successes},
            {"failures_total", b.failures},
            {"rejected", b.rejected},
            {"last_failure", time_or_null(b.last_failure, steady_now, wall_now)},
            {"last_success", time_or_null(b.last_success, steady_now, wall_now)},
            {"next_trial_in_ms", ms_or_null(s.breaker_next_trial_in)}};
}

json last_exit(const std::optional<supervisor::ExitStatus>& e) {
    if (!e) return nullptr;
    return {{"code", e->code ? json(*e->code) : json(nullptr)},
            {"signal", e->signal ? json(*e->signal) : json(nullptr)}};
}

json service(const supervisor::ServiceStatus& s, TimePoint steady_now, WallTime wall_now) {
    json probes = json::array();
    for (const auto& p : s.probes) {
        probes.push_back({{"kind", supervisor::to_string(p.kind)},
                          {"health", resilience::to_string(p.health)},
                          {"last_duration_ms", ms_or_null(p.last_duration)},
                          {"failures", p.failures}});
    }
    json deps = json::array();
    for (const auto& [name, required] : s.depends_on) deps.push_back({{"name", name}, {"required", required}});
    return {
        {"name", s.name},
        {"description", s.description},
        {"kind", config::to_string(s.kind)},
        {"state", supervisor::to_string(s.state)},
        {"ready", s.ready},
        {"ready_by", s.ready_by},
        {"pid", s.pid ? json(*s.pid) : json(nullptr)},
        {"restarts", s.restarts},
        {"attempts", s.attempts},
        {"breaker", breaker(s, steady_now, wall_now)},
        {"breaker_state", s.breaker},
        {"breaker_next_trial_in_ms", ms_or_null(s.breaker_next_trial_in)},
        {"next_attempt_in_ms", ms_or_null(s.next_attempt_in)},
        {"last_exit", last_exit(s.last_exit)},
        {"reason", s.reason},
        {"last_output", s.last_output},
        {"blocked_by", s.blocked_by},
        {"since", iso_time(wall_time(s.since, steady_now, wall_now))},
        {"probes", std::move(probes)},
        {"depends_on", std::move(deps)},
    };
}

}  // namespace

namespace {

// The tiers better than the active one: [{"tier":"local","why":"ollama is recovering","requires":["ollama"]}].
json better_tiers(const supervisor::CapabilityStatus& c) {
    json out = json::array();
    for (const auto& b : c.better) out.push_back({{"tier", b.name}, {"why", b.why}, {"requires", b.required}});
    return out;
}

}  // namespace

json status_document(const supervisor::StatusModel& model, TimePoint steady_now, WallTime wall_now) {
    json services = json::array();
    for (const auto& s : model.services) services.push_back(service(s, steady_now, wall_now));
    json capabilities = json::array();
    for (const auto& c : model.capabilities) {
        capabilities.push_back({{"name", c.name},
                                {"description", c.description},
                                {"state", resilience::to_string(c.state)},
                                {"since", iso_time(wall_time(c.since, steady_now, wall_now))},
                                {"reason", c.reason},
                                {"requires", c.required},
                                {"tier", c.tier ? json(*c.tier) : json()},
                                {"tiers", c.tiers},
                                {"held", c.held},
                                {"held_at", c.held_at ? json(*c.held_at) : json()},
                                {"better_tiers", better_tiers(c)}});
    }
    return {
        {"mode", supervisor::to_string(model.mode)},
        {"since", iso_time(wall_time(model.mode_since, steady_now, wall_now))},
        {"startup", {{"done", model.startup_done}, {"duration_ms", ms_or_null(model.startup_duration)}}},
        {"services", std::move(services)},
        {"capabilities", std::move(capabilities)},
    };
}

}  // namespace mainstay::report
