// What the control socket and the HTTP endpoint answer (SPEC §1, §5-6): the requests of the
// command line (`status`, `why`, `events`, `start|stop|restart|resume`) and the HTTP paths
// (/healthz, /readyz, /status, /events, /metrics, /analyze), on the running supervisor.
//
// Control socket requests, one JSON object per line, and their answers:
//   {"cmd":"status", "watch":false}   -> {"ok":true,"status":DOC}; with watch, one more
//                                        {"ok":true,"status":DOC} at every change
//   {"cmd":"why","name":"web"}         -> {"ok":true,"why":ANSWER} (report/why.hpp)
//   {"cmd":"events","since_ms":60000,"names":["web"],"follow":false}
//                                      -> {"event":EVENT} per entry, oldest first, then
//                                         {"ok":true,"end":true}; with follow, the entries
//                                         as they come instead of the end
//   {"cmd":"start"|"stop"|"restart"|"resume","name":"web"} -> {"ok":true}
//   {"cmd":"analyze"}                  -> {"ok":true,"analyze":TIMELINE} (report/timeline.hpp)
//   {"cmd":"reload"}                   -> {"ok":true,"diff":DIFF,"summary":"..."}, or
//                                         {"ok":false,"error":"...","diagnostics":["FILE:LINE:COL: error: ..."]}
// Anything wrong: {"ok":false,"error":"..."}.
#pragma once

#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "report/control_request.hpp"
#include "report/control_server.hpp"
#include "report/http_server.hpp"
#include "runtime/publisher.hpp"
#include "supervisor/supervisor.hpp"

namespace mainstay::runtime {

class ControlApi {
public:
    ControlApi(Publisher& publisher, supervisor::Supervisor& supervisor) : publisher_(publisher), supervisor_(supervisor) {}

    void handle(const nlohmann::json& request, const std::shared_ptr<report::ControlSession>& session);
    // What a reload does (run.cpp): its answer for `mainstay reload`.
    void reload_with(std::function<nlohmann::json()> reload) { reload_ = std::move(reload); }
    nlohmann::json reload() { return reload_ ? reload_() : nlohmann::json{{"ok", false}, {"error", "reload is not available"}}; }
    report::HttpResponse http(const report::HttpRequest& request);

private:
    void events(const report::ControlRequest& request, const std::shared_ptr<report::ControlSession>& session);

    Publisher& publisher_;
    supervisor::Supervisor& supervisor_;
    std::function<nlohmann::json()> reload_;
};

}  // namespace mainstay::runtime
