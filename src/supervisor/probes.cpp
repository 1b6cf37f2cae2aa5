#include "supervisor/probes.hpp"

#include <algorithm>

namespace mainstay::supervisor {

using resilience::add_saturating;
using resilience::HealthState;

namespace {
constexpr Duration kFirstFastInterval{100};
}

ProbeSet::ProbeSet(const config::ProbesSpec& spec, const std::string& owner, resilience::EventSink* events)
    : slots_{Slot(spec.startup, owner, "startup", events), Slot(spec.readiness, owner, "readiness", events),
             Slot(spec.liveness, owner, "liveness", events)} {}

void ProbeSet::schedule_first(Slot& s, TimePoint now) {
    if (s.spec == nullptr) return;
    s.tracker.reset(now);
    s.succeeded_once = false;
    s.fast_until.reset();
    s.fast_interval = s.spec->startup_interval.value_or(kFirstFastInterval);
    s.next_at = add_saturating(now, s.spec->initial_delay);
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
        s.next_at.reset();
        s.running = false;
    }
    if (has(ProbeKind::startup)) {
        schedule_first(slot(ProbeKind::startup), now);
    } else {
        schedule_first(slot(ProbeKind::readiness), now);
        schedule_first(slot(ProbeKind::liveness), now);
    }
}

void ProbeSet::recheck(TimePoint now, TimePoint fast_until) {
    Slot& s = slot(ProbeKind::readiness);
    if (!active_ || s.spec == nullptr) return;
    if (!s.running) s.next_at = now;
    s.fast_until = fast_until;
    s.fast_interval = s.spec->startup_interval.value_or(kFirstFastInterval);
}

void ProbeSet::end(World& world, Id id) {
    active_ = false;
    for (std::size_t k = 0; k < slots_.size(); ++k) {
        if (slots_[k].running) world.cancel_probe(id, static_cast<ProbeKind>(k));
        slots_[k].running = false;
        slots_[k].next_at.reset();
    }
}

void ProbeSet::on_timer(World& world, Id id) {
    if (!active_) return;
    const TimePoint now = world.now();
    for (std::size_t k = 0; k < slots_.size(); ++k) {
        Slot& s = slots_[k];
        if (s.spec == nullptr || s.running || !s.next_at || now < *s.next_at) continue;
        s.next_at.reset();
        s.running = true;
        s.started_at = now;
        world.start_probe(id, static_cast<ProbeKind>(k), *s.spec);
    }
}

ProbeChange ProbeSet::on_result(TimePoint now, ProbeKind kind, resilience::ProbeStatus status, const std::string& detail) {
    Slot& s = slot(kind);
    if (!active_ || !s.running) return ProbeChange::none;  // a late result of a cancelled probe
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
                schedule_first(slot(ProbeKind::readiness), now);
                schedule_first(slot(ProbeKind::liveness), now);
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
        if (s.next_at && (!next || *s.next_at < *next)) next = s.next_at;
    }
    return next;
}

}  // namespace mainstay::supervisor
