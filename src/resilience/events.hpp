// The event stream of the resilience machines: what status, logs and metrics count.
//
// Every machine reports through an EventSource (an optional EventSink plus the owner's name,
// e.g. the service "docker", and the operation, e.g. "wake" or "readiness"). One Event is
// emitted per state transition, per retry, per exhaustion and per timeout (SPEC section 6), so a
// metrics layer only has to count them: `kind` picks the metric, `owner` and `operation` the
// labels, `to` the target state of a transition. EventLog is a sink that keeps every event in
// a vector, for tests and simple status counters; CallbackSink forwards to a function.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "resilience/clock.hpp"

namespace mainstay::resilience {

enum class EventKind {
    breaker_transition,      // from/to: closed, open, half-open
    retry_attempt,           // a failed attempt will be retried; detail: the error
    retry_exhausted,         // max attempts reached; detail: the last error
    retry_failed_permanent,  // a permanent failure stopped the retries; detail: the error
    timeout,                 // an attempt or probe timed out; operation says which
    health_transition,       // from/to: unknown, healthy, unhealthy
    recovery_attempt,        // a background recovery attempt started
    recovery_succeeded,      // reported once per recovery
    recovery_paused,         // the safety valve tripped; detail: why
    recovery_resumed,        // resumed by hand
    capability_transition,   // from/to: degraded, upgrading, full
    capability_hook_failed,  // activate or deactivate failed; operation says which
};

std::string_view to_string(EventKind kind);

struct Event {
    EventKind kind{};
    std::string owner;      // the service or capability the machine belongs to
    std::string operation;  // "wake", "readiness", "activate", ... (may be empty)
    std::string from;       // transitions only: the state left
    std::string to;         // transitions only: the state entered
    std::string detail;     // an error or reason a user can act on (may be empty)
    TimePoint at{};
};

class EventSink {
public:
    virtual ~EventSink() = default;
    virtual void on_event(const Event& event) = 0;
};

// Keeps every event, in order.
class EventLog final : public EventSink {
public:
    void on_event(const Event& event) override { events_.push_back(event); }

    const std::vector<Event>& events() const { return events_; }
    std::size_t size() const { return events_.size(); }
    void clear() { events_.clear(); }
    // How many events of `kind` (and, when `to` is given, entering that state).
    std::size_t count(EventKind kind, std::string_view to = {}) const;

private:
    std::vector<Event> events_;
};

// Forwards each event to a function (e.g. a per-transition callback).
class CallbackSink final : public EventSink {
public:
    explicit CallbackSink(std::function<void(const Event&)> callback) : callback_(std::move(callback)) {}
    void on_event(const Event& event) override {
        if (callback_) callback_(event);
    }

private:
    std::function<void(const Event&)> callback_;
};

// Who a machine reports as, and where to. A null sink drops events.
struct EventSource {
    EventSink* sink{nullptr};
    std::string owner;
    std::string operation;

    void emit(EventKind kind, TimePoint at, std::string_view from = {}, std::string_view to = {},
              std::string_view detail = {}) const;
};

}  // namespace mainstay::resilience
