#include "serve/control_api.hpp"

#include <algorithm>
#include <set>

#include "config/values.hpp"
#include "report/why.hpp"
#include "runtime/doing.hpp"
#include "runtime/output_tail.hpp"
#include "serve/control_request.hpp"

namespace mainstay::serve {

using runtime::Doing;
using runtime::read_file_tail;

namespace {

nlohmann::json fail(const std::string& why) {
    return {{"ok", false}, {"error", why}};
}

// An entry concerns `names` (all when empty): a mode entry always does.
bool concerns(const report::JournalEntry& e, const std::set<std::string>& names) {
    return names.empty() || e.subject == report::JournalEntry::Subject::mode || names.count(e.name) != 0;
}

std::optional<supervisor::Control> control_of(const std::string& cmd) {
    if (cmd == "start") return supervisor::Control::start;
    if (cmd == "stop") return supervisor::Control::stop;
    if (cmd == "restart") return supervisor::Control::restart;
    if (cmd == "resume") return supervisor::Control::resume;
    return std::nullopt;
}

}  // namespace

void ControlApi::handle(const nlohmann::json& json_request, const std::shared_ptr<serve::ControlSession>& session) {
    const serve::ControlRequest request = serve::read_control_request(json_request);
    if (!request.error.empty()) return (void)session->send(fail(request.error));
    const std::string& cmd = request.cmd;
    if (cmd == "status") {
        session->send({{"ok", true}, {"status", publisher_.status_document()}});
        if (request.watch) {
            const auto id = publisher_.watch([session](const nlohmann::json& doc) {
                session->send({{"ok", true}, {"status", doc}});
            });
            session->subscribe([this, id] { publisher_.unwatch(id); });
        }
        return;
    }
    if (cmd == "why") {
        const std::string& name = request.name;
        if (name.empty()) return (void)session->send(fail("why: a service name is required"));
        nlohmann::json answer = report::why(publisher_.status_document(), name);
        if (answer.contains("error")) return (void)session->send(fail(answer["error"].get<std::string>()));
        session->send({{"ok", true}, {"why", std::move(answer)}});
        return;
    }
    if (cmd == "events") return events(request, session);
    if (cmd == "analyze") return (void)session->send({{"ok", true}, {"analyze", publisher_.timeline_document()}});
    if (auto control = control_of(cmd)) return this->control(*control, request, session);
    if (cmd == "signal") return signal(request, session);
    if (cmd == "logs") return logs(request, session);
    if (cmd == "upgrade" || cmd == "downgrade") {
        const std::string& name = request.name;
        if (name.empty()) return (void)session->send(fail(cmd + ": a capability name is required"));
        const std::string error =
            cmd == "upgrade" ? supervisor_.upgrade(name) : supervisor_.downgrade(name, request.to);
        if (!error.empty()) return (void)session->send(fail(error));
        nlohmann::json answer{{"ok", true}, {"capability", name}};
        for (const auto& c : supervisor_.capabilities()) {
            if (c->spec().name != name) continue;
            answer["state"] = std::string(resilience::to_string(c->state()));
            answer["tier"] = c->tier() ? nlohmann::json(*c->tier()) : nlohmann::json();
            answer["held_at"] = c->held_at() ? nlohmann::json(*c->held_at()) : nlohmann::json();
        }
        return (void)session->send(answer);
    }
    if (cmd == "reload") {
        if (!reload_) return (void)session->send(fail("reload is not available"));
        return reload_([session](const nlohmann::json& answer) { session->send(answer); });
    }
    session->send(fail(cmd.empty() ? "a request needs \"cmd\"" : "unknown command: " + cmd));
}

namespace {

// The answer to a command on several services: each one's result, ok when all were.
nlohmann::json results_answer(const std::vector<std::pair<std::string, std::string>>& outcomes) {
    nlohmann::json results = nlohmann::json::array();
    std::string first_error;
    for (const auto& [name, error] : outcomes) {
        nlohmann::json r{{"name", name}, {"ok", error.empty()}};
        if (!error.empty()) r["error"] = error;
        if (first_error.empty()) first_error = error;
        results.push_back(std::move(r));
    }
    nlohmann::json answer{{"ok", first_error.empty()}, {"results", std::move(results)}};
    if (!first_error.empty()) answer["error"] = first_error;
    return answer;
}

enum class Progress { pending, reached, failed };

// Where service `s` stands after `what` was asked of it: stop is reached once nothing of it
// runs; the others once it is ready or completed, and fail when it ends failed, paused,
// recovering (its attempt failed) or stopped.
Progress progress(supervisor::Control what, const supervisor::Service& s) {
    using supervisor::State;
    if (what == supervisor::Control::stop) return s.active() ? Progress::pending : Progress::reached;
    switch (s.state()) {
        case State::ready:
        case State::completed:
            return Progress::reached;
        case State::failed:
        case State::paused:
        case State::recovering:
        case State::stopped:
            return Progress::failed;
        default:
            return Progress::pending;
    }
}

}  // namespace

void ControlApi::control(supervisor::Control what, const serve::ControlRequest& request,
                         const std::shared_ptr<serve::ControlSession>& session) {
    const std::vector<std::string> names = request.all ? supervisor_.all_for(what) : request.targets;
    if (names.empty() && !request.all) return (void)session->send(fail(request.cmd + ": a service name is required"));
    std::vector<std::pair<std::string, std::string>> outcomes;
    std::vector<std::string> accepted;
    for (const auto& name : names) {
        outcomes.emplace_back(name, supervisor_.control(what, name));
        if (outcomes.back().second.empty()) accepted.push_back(name);
    }
    session->send(results_answer(outcomes));
    if (request.wait) wait_for(what, std::move(accepted), session);
}

void ControlApi::wait_for(supervisor::Control what, std::vector<std::string> names,
                          const std::shared_ptr<serve::ControlSession>& session) {
    auto pending = std::make_shared<std::vector<std::string>>(std::move(names));
    // Answers for those of `pending` (only `name` when given) that are no longer on the way.
    auto look = [this, what, session, pending](const std::string* name) {
        for (auto it = pending->begin(); it != pending->end();) {
            if (name != nullptr && *it != *name) {
                ++it;
                continue;
            }
            const supervisor::Service* s = supervisor_.find(*it);
            const Progress p = s == nullptr ? Progress::failed : progress(what, *s);
            if (p == Progress::pending) {
                ++it;
                continue;
            }
            session->send({{"done",
                            {{"name", *it},
                             {"reached", p == Progress::reached},
                             {"state", s == nullptr ? std::string("removed") : std::string(to_string(s->state()))},
                             {"reason", s == nullptr ? std::string() : s->reason()}}}});
            it = pending->erase(it);
        }
        if (!pending->empty()) return false;
        session->send({{"ok", true}, {"end", true}});
        return true;
    };
    if (look(nullptr)) return;
    auto id = std::make_shared<std::uint64_t>(0);
    *id = publisher_.follow([this, look, id](const report::JournalEntry& e) {
        if (e.subject != report::JournalEntry::Subject::service) return;
        if (look(&e.name)) publisher_.unfollow(*id);
    });
    session->subscribe([this, id] { publisher_.unfollow(*id); });
}

void ControlApi::signal(const serve::ControlRequest& request, const std::shared_ptr<serve::ControlSession>& session) {
    const auto sig = config::parse_signal(request.signal);
    if (!sig)
        return (void)session->send(fail("signal: " + (request.signal.empty() ? "a signal is required" : sig.error)));
    const std::vector<std::string> names = request.all ? supervisor_.running_services() : request.targets;
    if (names.empty() && !request.all) return (void)session->send(fail("signal: a service name is required"));
    std::vector<std::pair<std::string, std::string>> outcomes;
    for (const auto& name : names) outcomes.emplace_back(name, supervisor_.signal(name, *sig.value));
    session->send(results_answer(outcomes));
}

void ControlApi::logs(const serve::ControlRequest& request, const std::shared_ptr<serve::ControlSession>& session) {
    const std::string& name = request.name;
    if (name.empty()) return (void)session->send(fail("logs: a service name is required"));
    const supervisor::Service* s = supervisor_.find(name);
    if (s == nullptr) return (void)session->send(fail("no service named " + name));
    if (!s->spec().output.console && !s->spec().output.file) {
        return (void)session->send(fail(name + ": its output goes nowhere (output: {console: false, file: false}): "
                                               "it is not read, so there are no lines to show"));
    }
    // Its log file when it has one (whole lines, what came before this instance too), with the
    // lines still queued for it from memory; else the memory alone.
    std::optional<std::vector<std::string>> from_file;
    if (s->spec().output.file) {
        if (auto file = config::service_log_file(main_.log, name)) from_file = read_file_tail(*file, request.lines);
    }
    const std::vector<std::string> lines =
        from_file ? tails_.merged(name, std::move(*from_file), request.lines) : tails_.rendered(name, request.lines);
    for (const auto& line : lines) {
        if (!session->send({{"line", line}})) return;
    }
    if (!request.follow) return (void)session->send({{"ok", true}, {"end", true}});
    const auto id = tails_.follow(name, [session](const std::string& line) { session->send({{"line", line}}); });
    session->subscribe([this, id] { tails_.unfollow(id); });
}

void ControlApi::events(const serve::ControlRequest& request, const std::shared_ptr<serve::ControlSession>& session) {
    const std::set<std::string>& names = request.names;
    for (const auto& name : names) {
        if (supervisor_.id_of(name) == 0) return (void)session->send(fail("no service or capability named " + name));
    }
    std::vector<report::JournalEntry> entries;
    if (request.since) {
        entries = publisher_.journal().entries_since(std::chrono::steady_clock::now() - *request.since);
    } else {
        entries = publisher_.journal().since_seq(0);
    }
    for (const auto& e : entries) {
        if (concerns(e, names) && !session->send({{"event", publisher_.event_json(e)}})) return;
    }
    if (!request.follow) {
        session->send({{"ok", true}, {"end", true}});
        return;
    }
    const auto id = publisher_.follow([this, session, names](const report::JournalEntry& e) {
        if (concerns(e, names)) session->send({{"event", publisher_.event_json(e)}});
    });
    session->subscribe([this, id] { publisher_.unfollow(id); });
}

serve::HttpResponse ControlApi::http(const serve::HttpRequest& request) {
    const std::string& path = request.target;
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/readyz") {
        const auto mode = supervisor_.mode();
        // status.ready_when (SPEC §5): 200 in full and degraded, or in full only.
        const bool degraded_ok = main_.status.ready_when == config::ReadyWhen::degraded;
        const bool ready = supervisor_.startup_done() &&
                           (mode == supervisor::Mode::full || (degraded_ok && mode == supervisor::Mode::degraded));
        return {ready ? 200 : 503, "text/plain; charset=utf-8", std::string(to_string(mode)) + "\n"};
    }
    if (path == "/status") return {200, "application/json", publisher_.status_document().dump(2) + "\n"};
    if (path == "/analyze") return {200, "application/json", publisher_.timeline_document().dump(2) + "\n"};
    if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", publisher_.metrics_text()};
    if (path == "/events") {
        std::vector<report::JournalEntry> entries = publisher_.journal().since_seq(0);
        // ?since=5m: only what happened in that time.
        if (request.query.rfind("since=", 0) == 0) {
            auto since = config::parse_duration(request.query.substr(6));
            if (!since) return {400, "text/plain; charset=utf-8", "since: " + since.error + "\n"};
            entries = publisher_.journal().entries_since(std::chrono::steady_clock::now() - *since.value);
        } else if (!request.query.empty()) {
            return {400, "text/plain; charset=utf-8", "unknown query: " + request.query + " (since=DURATION)\n"};
        }
        std::string body;
        for (const auto& e : entries) body += publisher_.event_json(e).dump() + "\n";
        return {200, "application/x-ndjson", std::move(body)};
    }
    return {404, "text/plain; charset=utf-8",
            "not found: " + path + " (/healthz /readyz /status /events /metrics /analyze)\n"};
}

}  // namespace mainstay::serve
