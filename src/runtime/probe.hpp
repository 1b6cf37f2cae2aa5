// One probe attempt on the event loop: what every probe handler (tcp, http) returns and reports.
//
// A `start_*_probe` function begins one attempt and returns its handle. The attempt reports
// exactly once through `ProbeDone`, always on the io_context thread and never from inside the
// start call or `cancel()` (the report is posted). The whole attempt has one deadline, the
// probe's `timeout`. Destroying the handle aborts the attempt and guarantees that `done` is
// not called afterwards, even if the report was already posted; `cancel()` without destroying
// reports once with detail "cancelled" (unless the attempt had already finished). Handles are
// used on the io_context thread only, and destroyed before the io_context (like any Asio object).
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace mainstay::runtime {

struct ProbeResult {
    bool ok{false};
    bool timed_out{false};
    // What a user reads in a reason: "connect: connection refused", "timed out after 1s",
    // "HTTP 503 (expected 200-399)"; on success e.g. "HTTP 200".
    std::string detail;
    std::chrono::milliseconds duration{0};  // from start to completion (steady clock)
    bool permanent{false};                  // failed with a status listed in `permanent_status`: not to be retried
};

using ProbeDone = std::function<void(const ProbeResult&)>;

class ProbeAttempt {
public:
    virtual ~ProbeAttempt() = default;  // aborts; `done` is not called afterwards
    virtual void cancel() = 0;          // aborts; `done` is called once with "cancelled"
};

}  // namespace mainstay::runtime
