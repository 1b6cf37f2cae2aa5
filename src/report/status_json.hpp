// The status document of SPEC §5: what the status file, `mainstay status --json`, the control
// socket and GET /status publish, built from one StatusModel snapshot.
//
// Times are ISO-8601 UTC with milliseconds ("2026-11-23T08:00:01.123Z"), converted from the
// model's steady time points through a (steady_now, wall_now) pair read together. Absent values
// are JSON null, never left out: `pid`, `next_attempt_in_ms`, `last_exit` (else {code, signal},
// the one that did not happen null), `startup.duration_ms` while starting.
//
// Beyond SPEC (extra fields are allowed), per service:
//   "probes": [{"kind": "readiness", "health": "unknown|healthy|unhealthy",
//               "last_duration_ms": 250 or null, "failures": 3}]
//   "depends_on": [{"name": "db", "required": true}]   (as configured, in order)
//   "breaker_next_trial_in_ms": 20000 or null           (an open breaker's cooldown left)
// and per capability "reason": why it is not FULL (empty when it is).
//
// The table, `why` and the CLI read this document, not the model: the CLI only has the JSON.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "report/format.hpp"
#include "supervisor/status_model.hpp"

namespace mainstay::report {

nlohmann::json status_document(const supervisor::StatusModel& model, TimePoint steady_now, WallTime wall_now);

}  // namespace mainstay::report
