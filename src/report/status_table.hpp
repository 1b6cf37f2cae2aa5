// The status table people read: on mainstay's stdout (periodically and on change) and from
// `mainstay status`. It is rendered from the status document (report/status_json.hpp), not from
// the model, so the daemon and the CLI (which receives the document over the control socket)
// print the same thing.
//
//   NAME    KIND     STATE       READY  PID   RESTARTS  BREAKER  NEXT   REASON
//   docker  process  recovering  no     -     3         open     in 8s  readiness probe failed: …
//   web     process  ready       yes    4242  0         closed   -
//
//   CAPABILITY  STATE     REASON
//   local-llm   degraded  ollama is recovering
//
//   mode: degraded (since 08:00:01 UTC, startup 812 ms)
//
// One line per service, never wrapped: every line fits `width` columns. Columns are as wide as
// their content; REASON takes what is left and is cut with "…". When even that leaves too
// little room for a reason, NAME is cut first. The capabilities section is left out when there
// are none. Missing or null fields (a document from another version) print as "-".
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace mainstay::report {

std::string render_table(const nlohmann::json& status_document, std::size_t width = 80);

// `mainstay breakers`: every service's circuit breaker with its figures, from the same document.
//
//   SERVICE  GUARDS   STATE   FAILURES  SUCCESSES  REJECTED  LAST FAILURE  LAST SUCCESS  NEXT TRIAL
//   docker   restart  open    5/5       12         3         08:00:01      07:59:00      in 21s
//
// FAILURES is the run of failures in a row against the threshold that opens it; SUCCESSES and
// REJECTED count since mainstay started (rejected: calls refused while it was open). Times are
// UTC. LAST FAILURE and LAST SUCCESS are left out first when the width is short.
std::string render_breakers(const nlohmann::json& status_document, std::size_t width = 80);

}  // namespace mainstay::report
