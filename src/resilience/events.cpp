#include "resilience/events.hpp"

#include <algorithm>

namespace mainstay::resilience {

std::string_view to_string(EventKind kind) {
    switch (kind) {
        case EventKind::breaker_transition:
            return "breaker_transition";
        case EventKind::retry_attempt:
            return "retry_attempt";
        case EventKind::retry_exhausted:
            return "retry_exhausted";
        case EventKind::retry_failed_permanent:
            return "retry_failed_permanent";
        case EventKind::timeout:
            return "timeout";
        case EventKind::health_transition:
            return "health_transition";
        case EventKind::recovery_attempt:
            return "recovery_attempt";
        case EventKind::recovery_succeeded:
            return "recovery_succeeded";
        case EventKind::recovery_paused:
            return "recovery_paused";
        case EventKind::recovery_resumed:
            return "recovery_resumed";
        case EventKind::capability_transition:
            return "capability_transition";
        case EventKind::capability_hook_failed:
            return "capability_hook_failed";
    }
    return "?";
}

std::size_t EventLog::count(EventKind kind, std::string_view to) const {
    return static_cast<std::size_t>(std::count_if(
        events_.begin(), events_.end(), [&](const Event& e) { return e.kind == kind && (to.empty() || e.to == to); }));
}

void EventSource::emit(EventKind kind, TimePoint at, std::string_view from, std::string_view to,
                       std::string_view detail) const {
    if (sink == nullptr) return;
    sink->on_event(Event{kind, owner, operation, std::string(from), std::string(to), std::string(detail), at});
}

}  // namespace mainstay::resilience
