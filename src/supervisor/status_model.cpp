#include "supervisor/status_model.hpp"

#include "supervisor/supervisor.hpp"

namespace mainstay::supervisor {

StatusModel snapshot(const Supervisor& supervisor, TimePoint now) {
    StatusModel m;
    m.mode = supervisor.mode();
    m.mode_since = supervisor.mode_since();
    m.startup_done = supervisor.startup_done();
    m.startup_duration = supervisor.startup_duration();
    for (const auto& s : supervisor.services()) {
        ServiceStatus st;
        st.name = s->name();
        st.kind = s->spec().kind;
        st.state = s->state();
        st.ready = s->available();
        st.pid = s->pid();
        st.restarts = s->restarts();
        st.attempts = s->recovery().attempts();
        st.breaker = std::string(resilience::to_string(s->breaker().state()));
        if (auto trial = s->breaker().next_deadline()) st.breaker_next_trial_in = resilience::remaining(now, *trial);
        const auto& stats = s->breaker().stats();
        st.breaker_figures = {s->spec().kind == config::Kind::external ? "wake" : "restart",
                              s->breaker().consecutive_failures(),
                              resilience::at_least_one(s->breaker().params().failure_threshold),
                              stats.successes,
                              stats.failures,
                              stats.rejections,
                              stats.last_success,
                              stats.last_failure};
        if (s->state() == State::recovering) {
            if (auto next = s->next_deadline(); next && *next > now) {
                st.next_attempt_in = std::chrono::duration_cast<Duration>(*next - now);
            } else if (next) {
                st.next_attempt_in = Duration(0);
            }
        }
        st.last_exit = s->last_exit();
        st.reason = s->reason();
        st.description = s->spec().description;
        if (s->state() == State::blocked || s->state() == State::waiting) {
            for (const auto& dep : s->spec().depends_on) {
                const Service* d = supervisor.find(dep.name);
                if (dep.required && d != nullptr && !d->available()) st.blocked_by.push_back(dep.name);
            }
        }
        st.since = s->since();
        st.ready_by = std::string(config::ready_source(s->spec()));
        for (const auto& dep : s->spec().depends_on) st.depends_on.emplace_back(dep.name, dep.required);
        for (ProbeKind kind : {ProbeKind::startup, ProbeKind::readiness, ProbeKind::liveness}) {
            if (!s->probes().has(kind)) continue;
            const auto& tracker = s->probes().tracker(kind);
            st.probes.push_back({kind, tracker.state(), s->probes().last_duration(kind), tracker.total_failures()});
        }
        m.services.push_back(std::move(st));
    }
    for (const auto& c : supervisor.capabilities()) {
        CapabilityStatus cs{c->spec().name,       c->state(), c->since(), {}, c->spec().requires_services,
                            c->spec().description};
        if (cs.state != resilience::CapabilityState::full) {
            if (c->tiered() || c->held_at()) {
                cs.reason = c->reason();
            } else {
                cs.reason = supervisor.unmet_requirement(c->spec().requires_services);
                if (cs.reason.empty()) cs.reason = c->own_reason();
            }
        }
        cs.tier = c->tier();
        cs.tiers = c->tiers();
        cs.held = c->held();
        cs.held_at = c->held_at();
        for (auto& [tier, why] : c->better_tiers()) {
            std::vector<std::string> required;
            for (const auto& t : c->spec().chain()) {
                if (t.name == tier) required = t.requires_services;
            }
            cs.better.push_back({tier, why, std::move(required)});
        }
        m.capabilities.push_back(std::move(cs));
    }
    return m;
}

}  // namespace mainstay::supervisor
