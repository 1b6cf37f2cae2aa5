// `mainstay why NAME`: why a service is not ready, down its dependency chain to the root causes
// (SPEC §1). It walks the status document (report/status_json.hpp), so the daemon can answer
// over the control socket and the CLI can render what it receives.
//
// A service that is not ready waits on its required dependencies that are not ready, and, while
// it is `waiting`, also on its soft (required: false) ones that are not ready yet. Each of those
// is explained the same way, recursively. A root cause is a service that is not ready and waits
// on nothing that is not ready: its own failure explains the rest. A service reached a second
// time (a diamond) is listed as "repeated" and not walked again; this also ends any cycle.
//
// The answer:
//   {"service": "web", "description": "The web front", "ready": false,
//    "tree": {"name": "web", "state": "blocked", "reason": "api is waiting", "ready": false,
//             "next_attempt_in_ms": null, "next_attempt": null, "root_cause": false,
//             "waits_on": [{"name": "api", "required": true, ..., "waits_on": [...]}]},
//    "root_causes": ["db"]}
// "next_attempt" is the number of the next recovery attempt (attempts + 1) when one is due.
// A ready service: "ready": true, a tree with no "waits_on", no root causes. A capability
// ("kind": "capability" in its node) is ready when FULL; it waits on the services of its
// `requires` that are not ready, and is its own root cause when there are none (its check or a
// hook fails). An unknown name: {"error": "no service or capability named NAME"}.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace mainstay::report {

nlohmann::json why(const nlohmann::json& status_document, std::string_view name);

// The answer as an indented tree, ending with the root causes (after a first line "web: DESCRIPTION"
// when it has one):
//   web: blocked (api is waiting)
//     └─ api: waiting (needs db healthy)
//          └─ db: recovering (exited with code 1); attempt 3 in 4s   <- root cause
//   root causes: db
// A soft dependency reads "cache (soft): ...". Every line ends with a newline.
std::string render_why(const nlohmann::json& answer);

}  // namespace mainstay::report
