#include "cli/client.hpp"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "cli/cli.hpp"
#include "cli/control_client.hpp"
#include "config/values.hpp"
#include "report/journal.hpp"
#include "report/json_read.hpp"
#include "report/status_table.hpp"
#include "report/timeline.hpp"
#include "report/why.hpp"

namespace mainstay::cli {
namespace {

constexpr std::chrono::milliseconds kAnswerTimeout{10'000};
// A reload reads every file again before it answers.
constexpr std::chrono::milliseconds kReloadTimeout{60'000};
// --watch and --follow wait as long as the instance runs.
constexpr std::chrono::milliseconds kForever{std::chrono::hours(24 * 365)};

// "2026-12-06 08:00:01", the local time: each table of `status --watch` says when it was taken.
std::string local_time_now() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    char text[32];
    return std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local) ? text : "";
}

int exit_for_mode(const std::string& mode) {
    if (mode == "full") return 0;
    if (mode == "critical") return 2;
    return 1;
}

// Connects, or says why not and gives the exit code.
std::optional<ControlClient> connect(const config::ClientTarget& target, std::ostream& err, int& code,
                                     bool quiet_if_absent = false) {
    std::string error;
    ConnectFailure failure = ConnectFailure::other;
    auto client = ControlClient::connect(target.socket, error, &failure);
    if (client) return client;
    code = failure == ConnectFailure::permission_denied ? kExitNoPermission
           : failure == ConnectFailure::no_instance     ? kExitNotRunning
                                                        : kExitNoAnswer;
    if (!(quiet_if_absent && failure == ConnectFailure::no_instance)) err << "mainstay: " << error << '\n';
    return std::nullopt;
}

// Sends `request` and returns the first answer, or prints why not.
std::optional<nlohmann::json> ask(ControlClient& client, const nlohmann::json& request, std::ostream& err,
                                  std::chrono::milliseconds timeout = kAnswerTimeout) {
    if (!client.send(request)) {
        err << "mainstay: " << client.error() << '\n';
        return std::nullopt;
    }
    std::string error;
    auto answer = client.receive(timeout, error);
    if (!answer) err << "mainstay: " << error << '\n';
    return answer;
}

bool refused(const nlohmann::json& answer, std::ostream& err) {
    if (answer.value("ok", false)) return false;
    err << "mainstay: " << answer.value("error", std::string("the instance refused the request")) << '\n';
    return true;
}

// Sends `request`, then prints the `key` of each line that has one until the end (exit 0) or a
// refusal (1); with `follow` there is no end, and the instance going away ends it (0).
int stream(ControlClient& client, const nlohmann::json& request, bool follow, const char* key,
           const std::function<void(const nlohmann::json&)>& print, std::ostream& out, std::ostream& err) {
    if (!client.send(request)) {
        err << "mainstay: " << client.error() << '\n';
        return kExitNoAnswer;
    }
    for (;;) {
        std::string error;
        auto line = client.receive(follow ? kForever : kAnswerTimeout, error);
        if (!line) {
            err << "mainstay: " << error << '\n';
            return follow ? 0 : kExitNoAnswer;
        }
        if (line->contains(key)) {
            print((*line)[key]);
            out.flush();
            continue;
        }
        if (refused(*line, err)) return 1;
        if (line->value("end", false)) return 0;
    }
}

// Only the services named (all when none); an unknown name is an error.
bool select(nlohmann::json& doc, const std::vector<std::string>& names, std::ostream& err) {
    if (names.empty() || !doc.contains("services")) return true;
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& name : names) {
        bool found = false;
        for (const auto& s : doc["services"]) {
            if (s.value("name", std::string()) == name) {
                kept.push_back(s);
                found = true;
            }
        }
        if (!found) {
            err << "mainstay: no service named " << name << '\n';
            return false;
        }
    }
    doc["services"] = std::move(kept);
    return true;
}

void print_status(const nlohmann::json& doc, const ClientOptions& o, std::ostream& out) {
    if (o.json)
        out << doc.dump() << '\n';
    else
        out << report::render_table(doc, o.width);
    out.flush();
}

int from_status_file(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    if (!target.status_file) {
        err << "mainstay: not running (no answer on " << target.socket.string() << ")\n";
        return kExitNotRunning;
    }
    std::ifstream in(*target.status_file);
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
    if (!in || doc.is_discarded() || !doc.is_object()) {
        err << "mainstay: not running (no answer on " << target.socket.string() << ", no status file at "
            << target.status_file->string() << ")\n";
        return kExitNotRunning;
    }
    err << "mainstay: not running; the last status, from " << target.status_file->string() << ":\n";
    if (!select(doc, o.names, err)) return kExitNotRunning;
    print_status(doc, o, out);
    return kExitNotRunning;
}

}  // namespace

std::size_t terminal_width(const config::Environment& env) {
    winsize w{};
    if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col >= 40) return w.ws_col;
    if (auto columns = env.get("COLUMNS")) {
        try {
            const unsigned long n = std::stoul(*columns);
            if (n >= 40 && n <= 1000) return n;
        } catch (const std::exception&) {
        }
    }
    return 80;
}

int status_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(target, err, code, true);
    if (!client) return code == kExitNotRunning ? from_status_file(target, o, out, err) : code;
    auto answer = ask(*client, {{"cmd", "status"}, {"watch", o.watch}}, err);
    if (!answer) return kExitNoAnswer;
    if (refused(*answer, err)) return 1;
    for (;;) {
        nlohmann::json doc = (*answer)["status"];
        if (!select(doc, o.names, err)) return 1;
        if (o.watch && !o.json) out << '\n' << local_time_now() << '\n';
        print_status(doc, o, out);
        code = exit_for_mode(doc.value("mode", std::string()));
        if (!o.watch) return code;
        std::string error;
        answer = client->receive(kForever, error);
        if (!answer) {
            err << "mainstay: " << error << '\n';
            return code;
        }
    }
}

int breakers_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(target, err, code);
    if (!client) return code;
    auto answer = ask(*client, {{"cmd", "status"}}, err);
    if (!answer) return kExitNoAnswer;
    if (refused(*answer, err)) return 1;
    nlohmann::json doc = (*answer)["status"];
    if (!select(doc, o.names, err)) return 1;
    if (o.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& s : doc["services"]) {
            if (!s.contains("breaker") || !s["breaker"].is_object()) continue;
            nlohmann::json b = s["breaker"];
            b["service"] = s.value("name", std::string());
            list.push_back(std::move(b));
        }
        out << list.dump() << '\n';
    } else {
        out << report::render_breakers(doc, o.width);
    }
    return 0;
}

int why_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(target, err, code);
    if (!client) return code;
    auto answer = ask(*client, {{"cmd", "why"}, {"name", o.names.empty() ? std::string() : o.names.front()}}, err);
    if (!answer) return kExitNoAnswer;
    if (refused(*answer, err)) return 1;
    const nlohmann::json& why = (*answer)["why"];
    if (o.json)
        out << why.dump() << '\n';
    else
        out << report::render_why(why);
    return why.value("ready", false) ? 0 : 1;
}

int events_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    nlohmann::json request{{"cmd", "events"}, {"follow", o.follow}, {"names", o.names}};
    if (!o.since.empty()) {
        auto since = config::parse_duration(o.since);
        if (!since) {
            err << "mainstay: --since: " << since.error << '\n';
            return 64;
        }
        request["since_ms"] = since.value->count();
    }
    int code = kExitNotRunning;
    auto client = connect(target, err, code);
    if (!client) return code;
    return stream(
        *client, request, o.follow, "event",
        [&](const nlohmann::json& event) { out << (o.json ? event.dump() : report::render_event(event)) << '\n'; }, out,
        err);
}

namespace {

// "web: start requested", "web: SIGUSR1 sent".
std::string done_line(const std::string& verb, const ClientOptions& o) {
    if (verb == "signal") return o.signal + " sent";
    return verb + " requested";
}

// --wait ran out: what each service still on its way is doing now.
void report_unfinished(const config::ClientTarget& target, const std::vector<std::string>& names,
                       std::chrono::milliseconds timeout, std::ostream& err) {
    int code = 0;
    std::ostringstream ignored;
    auto client = connect(target, ignored, code);
    std::optional<nlohmann::json> answer;
    if (client) answer = ask(*client, {{"cmd", "status"}}, ignored);
    for (const auto& name : names) {
        std::string now = "state unknown";
        if (answer && answer->contains("status")) {
            for (const auto& svc : report::json_read::list((*answer)["status"], "services")) {
                if (report::json_read::text(svc, "name") != name) continue;
                const std::string reason = report::json_read::text(svc, "reason");
                now = report::json_read::text(svc, "state") + (reason.empty() ? "" : " (" + reason + ")");
            }
        }
        err << "mainstay: " << name << ": not there within " << config::format_duration(timeout) << ": " << now << '\n';
    }
}

}  // namespace

int control_command(const config::ClientTarget& target, const std::string& verb, const ClientOptions& o,
                    std::ostream& out, std::ostream& err) {
    std::chrono::milliseconds timeout{0};
    if (o.wait) {
        auto parsed = config::parse_duration(o.timeout);
        if (!parsed) {
            err << "mainstay: --timeout: " << parsed.error << '\n';
            return kExitUsage;
        }
        timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed.value);
    }
    int code = kExitNotRunning;
    auto client = connect(target, err, code);
    if (!client) return code;
    nlohmann::json request{{"cmd", verb}, {"names", o.names}, {"all", o.all}, {"wait", o.wait}};
    if (verb == "signal") request["signal"] = o.signal;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto answer = ask(*client, request, err);
    if (!answer) return kExitNoAnswer;
    bool all_ok = true;
    std::vector<std::string> waiting;
    const auto results = answer->find("results");
    if (results == answer->end() || !results->is_array()) {  // an instance that knows one name only
        if (refused(*answer, err)) return 1;
        if (!o.names.empty()) out << o.names.front() << ": " << done_line(verb, o) << '\n';
    } else {
        for (const auto& r : *results) {
            const std::string name = report::json_read::text(r, "name");
            if (report::json_read::flag(r, "ok")) {
                out << name << ": " << done_line(verb, o) << '\n';
                waiting.push_back(name);
            } else {
                err << "mainstay: " << report::json_read::text(r, "error", name + ": refused") << '\n';
                all_ok = false;
            }
        }
        if (results->empty()) out << "nothing to " << verb << '\n';
    }
    out.flush();
    if (!o.wait) return all_ok ? 0 : 1;
    if (!waiting.empty()) {
        err << "mainstay: waiting up to " << config::format_duration(timeout) << " for " << waiting.size()
            << (waiting.size() == 1 ? " service" : " services") << '\n';
    }
    // {"done":...} as each gets there, then the end.
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        std::string error;
        auto line = left.count() > 0 ? client->receive(left, error) : std::nullopt;
        if (!line) {
            if (left.count() > 0 && error.find("no answer") == std::string::npos) {
                err << "mainstay: " << error << '\n';
            } else {
                report_unfinished(target, waiting, timeout, err);
            }
            return 1;
        }
        if (line->contains("done")) {
            const auto& d = (*line)["done"];
            const std::string name = report::json_read::text(d, "name");
            const std::string reason = report::json_read::text(d, "reason");
            const bool reached = report::json_read::flag(d, "reached");
            (reached ? out : err) << (reached ? "" : "mainstay: ") << name << ": "
                                  << report::json_read::text(d, "state") << (reason.empty() ? "" : " (" + reason + ")")
                                  << '\n';
            out.flush();
            all_ok = all_ok && reached;
            waiting.erase(std::remove(waiting.begin(), waiting.end(), name), waiting.end());
            continue;
        }
        if (refused(*line, err)) return 1;
        if (line->value("end", false)) return all_ok ? 0 : 1;
    }
}

int logs_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(target, err, code);
    if (!client) return code;
    const std::string name = o.names.empty() ? std::string() : o.names.front();
    const nlohmann::json request{{"cmd", "logs"}, {"name", name}, {"lines", o.lines}, {"follow", o.follow}};
    return stream(
        *client, request, o.follow, "line",
        [&](const nlohmann::json& line) { out << (line.is_string() ? line.get<std::string>() : line.dump()) << '\n'; },
        out, err);
}

int analyze_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(target, err, code);
    if (!client) return code;
    auto answer = ask(*client, {{"cmd", "analyze"}}, err);
    if (!answer) return kExitNoAnswer;
    if (refused(*answer, err)) return 1;
    const nlohmann::json& timeline = (*answer)["analyze"];
    if (o.json)
        out << timeline.dump() << '\n';
    else
        out << report::render_timeline_text(timeline);
    if (o.svg.empty()) return 0;
    std::ofstream file(o.svg, std::ios::binary | std::ios::trunc);
    file << report::render_timeline_svg(timeline);
    file.close();
    if (!file) {
        err << "mainstay: cannot write " << o.svg << ": " << std::strerror(errno) << '\n';
        return 73;  // EX_CANTCREAT
    }
    // With --json, stdout holds only the JSON.
    (o.json ? err : out) << "startup chart written to " << o.svg << '\n';
    return 0;
}

int tier_command(const config::ClientTarget& target, const std::string& verb, const ClientOptions& o, std::ostream& out,
                 std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(target, err, code);
    if (!client) return code;
    nlohmann::json request{{"cmd", verb}, {"name", o.names.empty() ? std::string() : o.names.front()}};
    if (o.tier) request["to"] = *o.tier;
    auto answer = ask(*client, request, err);
    if (!answer) return kExitNoAnswer;
    if (refused(*answer, err)) return 1;
    const std::string name = answer->value("capability", std::string());
    const auto text = [&](const char* key) {
        const auto it = answer->find(key);
        return it != answer->end() && it->is_string() ? std::optional<std::string>(it->get<std::string>())
                                                      : std::nullopt;
    };
    const auto tier = text("tier");
    const auto held = text("held_at");
    out << name << ": ";
    if (held)
        out << "held at " << (held->empty() ? "no tier" : "tier " + *held) << " until mainstay upgrade";
    else
        out << "every tier is checked now";
    out << "; " << answer->value("state", std::string())
        << (tier ? ", on tier " + *tier : std::string(", on no tier yet")) << '\n';
    return 0;
}

int reload_command(const config::ClientTarget& target, std::ostream& out, std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(target, err, code);
    if (!client) return code;
    auto answer = ask(*client, {{"cmd", "reload"}}, err, kReloadTimeout);
    if (!answer) return kExitNoAnswer;
    const auto diagnostics = answer->find("diagnostics");
    const bool has_diagnostics = diagnostics != answer->end() && diagnostics->is_array();
    if (has_diagnostics) {
        for (const auto& d : *diagnostics) err << (d.is_string() ? d.get<std::string>() : d.dump()) << '\n';
    }
    if (refused(*answer, err)) return has_diagnostics ? kExitInvalidConfig : 1;
    const auto summary = answer->find("summary");
    const bool has_summary = summary != answer->end() && summary->is_string();
    out << (has_summary ? summary->get<std::string>() : std::string("reload: done")) << '\n';
    return 0;
}

}  // namespace mainstay::cli
