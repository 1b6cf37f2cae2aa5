#include "supervisor/probes.hpp"

#include <algorithm>

namespace mainstay::supervisor {

using resilience::add_saturating;
using resilience::HealthState;

namespace {
constexpr Duration kFirstFastInterval{100};
}

ProbeSet::ProbeSet(const config::ProbesSpec& spec, const std::string& owner, resilience::EventSink* events) {
    const std::pair<const config::Boxed<config::ProbeSpec>*, const char*> probes[] = {
        {&spec.startup, "startup"}, {&spec.readiness, "readiness"}, {&spec.liveness, "liveness"}};
    for (std::size_t k = 0; k < slots_.size(); ++k) {
        if (*probes[k].first) slots_[k] = std::make_unique<Slot>(**probes[k].first, owner, probes[k].second, events);
    }
}

const resilience::HealthTracker& ProbeSet::tracker(ProbeKind kind) const {
    static const resilience::HealthTracker never_ran(resilience::HealthParams{}, {});
    const Slot* s = find(kind);
    return s ? s->tracker : never_ran;
}

void ProbeSet::schedule_first(Slot* s, TimePoint now) {
    if (s == nullptr) return;
    s->tracker.reset(now);
    s->succeeded_once = false;
    s->fast_until.reset();
    s->fast_interval = s->spec->startup_interval.value_or(kFirstFastInterval);
    s->next_at = add_saturating(now, s->spec->initial_delay);
}

void ProbeSet::schedule_next(Slot& s, TimePoint now) {
    const bool fast_again = s.fast_until && now < *s.fast_until;
    if ((s.succeeded_once && !fast_again) || !s.fast_until_success) {
        s.next_at = add_saturating(now, s.spec->interval);
        return;
    }
    // Fast until the first success; without a configured startup_interval it doubles up to interval.
    s.next_at = add_saturating(now, std::min(s.fast_interval, s.spec->interval));
    if (!s.spec->startup_interval) s.fast_interval = std::min(s.fast_interval * 2, s.spec->interval);
}

void ProbeSet::begin(TimePoint now) {
    active_ = true;
    startup_passed_ = !has(ProbeKind::startup);
    for (auto& s : slots_) {
        if (!s) continue;
        s->next_at.reset();
        s->running = false;
    }
    if (has(ProbeKind::startup)) {
        schedule_first(find(ProbeKind::startup), now);
    } else {
        schedule_first(find(ProbeKind::readiness), now);
        schedule_first(find(ProbeKind::liveness), now);
    }
}

void ProbeSet::recheck(TimePoint now, TimePoint fast_until) {
    Slot* s = find(ProbeKind::readiness);
    if (!active_ || s == nullptr) return;
    if (!s->running) s->next_at = now;
    s->fast_until = fast_until;
    s->fast_interval = s->spec->startup_interval.value_or(kFirstFastInterval);
}

void ProbeSet::end(World& world, Id id) {
    active_ = false;
    for (std::size_t k = 0; k < slots_.size(); ++k) {
        Slot* s = slots_[k].get();
        if (s == nullptr) continue;
        if (s->running) world.cancel_probe(id, static_cast<ProbeKind>(k));
        s->running = false;
        s->next_at.reset();
    }
}

void ProbeSet::on_timer(World& world, Id id) {
    if (!active_) return;
    const TimePoint now = world.now();
    for (std::size_t k = 0; k < slots_.size(); ++k) {
        Slot* s = slots_[k].get();
        if (s == nullptr || s->running || !s->next_at || now < *s->next_at) continue;
        s->next_at.reset();
        s->running = true;
        s->started_at = now;
        world.start_probe(id, static_cast<ProbeKind>(k), *s->spec);
    }
}

ProbeChange ProbeSet::on_result(TimePoint now, ProbeKind kind, resilience::ProbeStatus status,
                                const std::string& detail) {
    Slot* found = find(kind);
    if (!active_ || found == nullptr || !found->running)
        return ProbeChange::none;  // a late result of a cancelled probe
    Slot& s = *found;
    s.running = false;
    s.last_duration = std::chrono::duration_cast<Duration>(now - s.started_at);
    const HealthState before = s.tracker.state();
    const HealthState after = s.tracker.record(now, status, detail);
    if (status == resilience::ProbeStatus::success) {
        s.succeeded_once = true;
        s.fast_until.reset();  // passed: back to `interval`
    }
    switch (kind) {
        case ProbeKind::startup:
            if (after == HealthState::healthy) {
                startup_passed_ = true;
                schedule_first(find(ProbeKind::readiness), now);
                schedule_first(find(ProbeKind::liveness), now);
                return ProbeChange::startup_passed;  // the startup probe is done: not scheduled again
            }
            schedule_next(s, now);
            return after == HealthState::unhealthy ? ProbeChange::startup_failed : ProbeChange::none;
        case ProbeKind::readiness:
            schedule_next(s, now);
            if (after == before) return ProbeChange::none;
            return after == HealthState::healthy ? ProbeChange::ready : ProbeChange::unready;
        case ProbeKind::liveness:
            schedule_next(s, now);
            return after == HealthState::unhealthy && before != HealthState::unhealthy ? ProbeChange::liveness_failed
                                                                                       : ProbeChange::none;
    }
    return ProbeChange::none;
}

std::optional<TimePoint> ProbeSet::next_deadline() const {
    std::optional<TimePoint> next;
    for (const auto& s : slots_) {
        if (s && s->next_at && (!next || *s->next_at < *next)) next = s->next_at;
    }
    return next;
}

}  // namespace mainstay::supervisor
