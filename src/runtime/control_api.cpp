#include "runtime/control_api.hpp"

#include <algorithm>
#include <set>

#include "config/values.hpp"
#include "report/control_request.hpp"
#include "report/why.hpp"

namespace mainstay::runtime {

namespace {

nlohmann::json fail(const std::string& why) { return {{"ok", false}, {"error", why}}; }

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

void ControlApi::handle(const nlohmann::json& json_request, const std::shared_ptr<report::ControlSession>& session) {
    const report::ControlRequest request = report::read_control_request(json_request);
    if (!request.error.empty()) return (void)session->send(fail(request.error));
    const std::string& cmd = request.cmd;
    if (cmd == "status") {
        session->send({{"ok", true}, {"status", publisher_.status_document()}});
        if (request.watch) {
            const auto id = publisher_.watch([session](const nlohmann::json& doc) { session->send({{"ok", true}, {"status", doc}}); });
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
    if (auto control = control_of(cmd)) {
        const std::string& name = request.name;
        if (name.empty()) return (void)session->send(fail(cmd + ": a service name is required"));
        const std::string error = supervisor_.control(*control, name);
        session->send(error.empty() ? nlohmann::json{{"ok", true}} : fail(error));
        return;
    }
    if (cmd == "reload") return (void)session->send(reload());
    session->send(fail(cmd.empty() ? "a request needs \"cmd\"" : "unknown command: " + cmd));
}

void ControlApi::events(const report::ControlRequest& request, const std::shared_ptr<report::ControlSession>& session) {
    const std::set<std::string>& names = request.names;
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

report::HttpResponse ControlApi::http(const report::HttpRequest& request) {
    const std::string& path = request.target;
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/readyz") {
        const auto mode = supervisor_.mode();
        const bool ready = supervisor_.startup_done() && (mode == supervisor::Mode::full || mode == supervisor::Mode::degraded);
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
    return {404, "text/plain; charset=utf-8", "not found: " + path + " (/healthz /readyz /status /events /metrics /analyze)\n"};
}

}  // namespace mainstay::runtime
