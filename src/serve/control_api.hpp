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
//   {"cmd":"start"|"stop"|"restart"|"resume","names":["web","db"],"all":false,"wait":false}
//                                      -> {"ok":ALL_OK,"results":[{"name":"web","ok":true},
//                                         {"name":"db","ok":false,"error":"..."}]} ("name" alone
//                                         is one name; "error" repeats the first refusal); with
//                                         wait, then {"done":{"name","reached","state","reason"}}
//                                         as each accepted one reaches its target state (ready or
//                                         completed; for stop, not running) or fails on the way
//                                         (failed, paused, recovering, stopped), then {"ok":true,"end":true}
//   {"cmd":"signal","signal":"SIGUSR1","names":[...],"all":false} -> as above, without wait
//   {"cmd":"logs","name":"web","lines":50,"follow":false}
//                                      -> {"line":"..."} per line, oldest first (as in the
//                                         service's log file), then {"ok":true,"end":true}; with
//                                         follow, the lines as they come instead of the end
//   {"cmd":"analyze"}                  -> {"ok":true,"analyze":TIMELINE} (report/timeline.hpp)
//   {"cmd":"upgrade","name":"llm"}     -> {"ok":true,"capability":"llm","state":"...","tier":"local"|null,
//                                         "held_at":null}: every tier checked now, a hold ended
//   {"cmd":"downgrade","name":"llm","to":"cloud"} -> the same, "held_at":"cloud" (no "to": the
//                                         next lower tier than the active one)
//   {"cmd":"reload"}                   -> {"ok":true,"diff":DIFF,"summary":"..."}, or
//                                         {"ok":false,"error":"...","diagnostics":["FILE:LINE:COL: error: ..."]}
// Anything wrong: {"ok":false,"error":"..."}.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "runtime/output_tail.hpp"
#include "serve/control_request.hpp"
#include "serve/control_server.hpp"
#include "serve/http_server.hpp"
#include "serve/publisher.hpp"
#include "supervisor/supervisor.hpp"

namespace mainstay::serve {

class ControlApi {
public:
    // `main` is what runs now (a reload replaces it in place): the log files, ready_when.
    ControlApi(Publisher& publisher, supervisor::Supervisor& supervisor, runtime::OutputTails& tails,
               const config::MainConfig& main)
        : publisher_(publisher), supervisor_(supervisor), tails_(tails), main_(main) {}

    void handle(const nlohmann::json& request, const std::shared_ptr<serve::ControlSession>& session);
    // What a reload does (run.cpp): reads the files again and gives `mainstay reload` its
    // answer when that is done (later, on the loop).
    using ReloadAnswer = std::function<void(const nlohmann::json&)>;
    void reload_with(std::function<void(ReloadAnswer)> reload) { reload_ = std::move(reload); }
    serve::HttpResponse http(const serve::HttpRequest& request);

private:
    void events(const serve::ControlRequest& request, const std::shared_ptr<serve::ControlSession>& session);
    void control(supervisor::Control what, const serve::ControlRequest& request,
                 const std::shared_ptr<serve::ControlSession>& session);
    void signal(const serve::ControlRequest& request, const std::shared_ptr<serve::ControlSession>& session);
    void logs(const serve::ControlRequest& request, const std::shared_ptr<serve::ControlSession>& session);
    // --wait: answers {"done":...} as each of `names` reaches its target state, then the end.
    void wait_for(supervisor::Control what, std::vector<std::string> names,
                  const std::shared_ptr<serve::ControlSession>& session);

    Publisher& publisher_;
    supervisor::Supervisor& supervisor_;
    runtime::OutputTails& tails_;
    const config::MainConfig& main_;
    std::function<void(ReloadAnswer)> reload_;
};

}  // namespace mainstay::serve
