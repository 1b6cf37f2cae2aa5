// `mainstay analyze`: the timeline of the startup phase, like systemd-analyze. Per service,
// when it was launched, running and ready, its outcome, the critical chain (the dependency path
// that set the end of the startup phase), a text form for the terminal and an SVG Gantt chart.
//
// A StartupTimeline is fed every transition with its time (by the Publisher, which gets each
// one from the supervisor). It keeps the startup phase only: from begin() to the first mode
// transition out of "starting"; later transitions are ignored. Per service:
//   launched  the first transition out of `waiting`/`blocked` (into anything but `stopping`
//             or `stopped`: a service stopped by hand before it started was not launched); a
//             process goes from `waiting` to `running` once spawned, so for it the two are one
//   running   the first `running` (for an external service, which is never started, its
//             `starting`: the moment it is being probed)
//   ready     the first `ready` or `completed`
//   settled   the first transition into a state where it has had its chance (ready,
//             completed, failed, paused, unhealthy, recovering, stopped, blocked): from then
//             on the phase does not wait for it, nor does a soft dependent
//   outcome   its state at the end of the phase ("waiting" for one with no transition at
//             all), reached at `outcome_at`, its last transition in the phase
//
// timeline_json() renders it with the status document (which gives each service's kind and
// depends_on, in the configured order):
//   {"startup": {"begin": "2026-11-23T08:00:01.123Z", "done": true, "duration_ms": 911,
//                "elapsed_ms": 911, "mode": "full"},
//    "services": [{"name": "db", "kind": "process", "launched_ms": 0, "running_ms": 0,
//                  "ready_ms": 302, "settled_ms": 302, "outcome_ms": 302, "outcome": "ready",
//                  "depends_on": [{"name": ..., "required": true}], "critical": true}],
//    "critical_chain": [{"name": "web", "at_ms": 911, "took_ms": 303, "launched_ms": 608,
//                        "running_ms": 608, "ready_ms": 911, "outcome": "ready"}, ...]}
// Services are listed in the order they were launched, then those never launched, in the
// document's order. Times are milliseconds from the beginning of the startup phase, null when
// it did not happen.
// "duration_ms" and "mode" are null while the phase goes on; "elapsed_ms" is then the time so
// far.
//
// The critical chain, as systemd-analyze critical-chain: it starts from the service done last
// (done: ready, or for one that never was, settled), then goes to the dependency that gated
// it, the one done last by the time it was launched (a soft dependency that failed also lets
// its dependent go), and so on until a service with no such dependency. A service that was
// never launched (blocked) is gated by what was done by the time it settled. Each element's
// "at_ms" is when it was done for the chain, "took_ms" the time from its launch to then.
// Services that took no part in the startup phase (no transition) are not on it.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "report/format.hpp"
#include "supervisor/observer.hpp"

namespace mainstay::report {

class StartupTimeline {
public:
    struct Times {
        std::optional<TimePoint> launched;
        std::optional<TimePoint> starting;  // the first `starting`: running for an external service
        std::optional<TimePoint> running;
        std::optional<TimePoint> ready;
        std::optional<TimePoint> settled;
        std::string outcome{"waiting"};
        std::optional<TimePoint> outcome_at;
    };

    // The startup phase begins (again: what was recorded is forgotten) with the services there
    // are then, `members` (possibly none). A service that comes later (a reload's) takes no part
    // in it: it is left off the timeline. Without a list, every service is one.
    void begin(TimePoint at, std::optional<std::vector<std::string>> members = std::nullopt);
    bool member(std::string_view name) const;
    // A transition at `at`. Capabilities' transitions are not kept; the first mode transition
    // from "starting" ends the phase. A transition before begin() begins it.
    void record(const supervisor::Transition& t, TimePoint at);

    std::optional<TimePoint> began() const { return began_; }
    std::optional<TimePoint> ended() const { return ended_; }
    // The mode the phase ended in; empty while it goes on.
    const std::string& end_mode() const { return end_mode_; }
    const std::map<std::string, Times, std::less<>>& services() const { return services_; }

private:
    std::optional<TimePoint> began_;
    std::optional<TimePoint> ended_;
    std::string end_mode_;
    std::map<std::string, Times, std::less<>> services_;
    std::optional<std::set<std::string, std::less<>>> members_;  // nullopt: every service
};

nlohmann::json timeline_json(const StartupTimeline& timeline, const nlohmann::json& status_document,
                             TimePoint steady_now, WallTime wall_now);

// The terminal form:
//   startup: 911ms (mode full)
//   SERVICE  LAUNCHED  RUNNING  READY    OUTCOME
//   db       +0ms      +1ms     +302ms   ready
//   ...
//
//   critical chain:
//   web @911ms +303ms
//   └─api @607ms +304ms
//     └─db @302ms +302ms
// Offsets read "Nms" below a second, else seconds with up to three decimals ("1.2s"); a time
// that did not happen is "-". A chain element that is not ready names its outcome: "(failed)".
std::string render_timeline_text(const nlohmann::json& timeline);

// A standalone SVG Gantt chart of the same (report/timeline_svg.cpp): a white background, a
// time axis with ticks, one row per service with its name and one bar, `<rect class="bar
// OUTCOME [critical]" data-service="NAME">`, from launch to ready (or to when it settled for
// good, or to the end of the phase for one still trying; a service never launched gets a faint
// dashed bar from when it was blocked), coloured by outcome (ready and completed green, failed
// and paused red, recovering and unhealthy orange, still starting or running blue, blocked,
// waiting and the rest grey), its launch-to-running part lighter, its outcome after it; one
// `<path class="edge">` per dependency between listed services, from when the dependency let
// its dependents go (ready, or had its chance) to the dependent's launch; the critical chain's
// bars and edges drawn dark; a dashed line at the end of the phase, and a legend.
std::string render_timeline_svg(const nlohmann::json& timeline);

}  // namespace mainstay::report
