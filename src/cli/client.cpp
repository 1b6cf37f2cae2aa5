#include "cli/client.hpp"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli/cli.hpp"
#include "cli/control_client.hpp"
#include "config/values.hpp"
#include "report/journal.hpp"
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

int exit_for_mode(const std::string& mode) {
    if (mode == "full") return 0;
    if (mode == "critical") return 2;
    return 1;
}

// Connects, or says why not and gives the exit code.
std::optional<ControlClient> connect(const config::MainConfig& main, std::ostream& err, int& code, bool quiet_if_absent = false) {
    std::string error;
    ConnectFailure failure = ConnectFailure::other;
    auto client = ControlClient::connect(main.status.socket, error, &failure);
    if (client) return client;
    code = failure == ConnectFailure::permission_denied ? kExitNoPermission : kExitNotRunning;
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
    if (o.json) out << doc.dump() << '\n';
    else out << report::render_table(doc, o.width);
    out.flush();
}

int from_status_file(const config::MainConfig& main, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    std::ifstream in(main.status.file);
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
    if (!in || doc.is_discarded() || !doc.is_object()) {
        err << "mainstay: not running (no answer on " << main.status.socket.string() << ", no status file at "
            << main.status.file.string() << ")\n";
        return kExitNotRunning;
    }
    err << "mainstay: not running; the last status, from " << main.status.file.string() << ":\n";
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

int status_command(const config::MainConfig& main, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(main, err, code, true);
    if (!client) return code == kExitNotRunning ? from_status_file(main, o, out, err) : code;
    auto answer = ask(*client, {{"cmd", "status"}, {"watch", o.watch}}, err);
    if (!answer) return kExitNotRunning;
    if (refused(*answer, err)) return 1;
    for (;;) {
        nlohmann::json doc = (*answer)["status"];
        if (!select(doc, o.names, err)) return 1;
        if (o.watch && !o.json) out << '\n';
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

int why_command(const config::MainConfig& main, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(main, err, code);
    if (!client) return code;
    auto answer = ask(*client, {{"cmd", "why"}, {"name", o.names.empty() ? std::string() : o.names.front()}}, err);
    if (!answer) return kExitNotRunning;
    if (refused(*answer, err)) return 1;
    const nlohmann::json& why = (*answer)["why"];
    if (o.json) out << why.dump() << '\n';
    else out << report::render_why(why);
    return why.value("ready", false) ? 0 : 1;
}

int events_command(const config::MainConfig& main, const ClientOptions& o, std::ostream& out, std::ostream& err) {
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
    auto client = connect(main, err, code);
    if (!client) return code;
    if (!client->send(request)) {
        err << "mainstay: " << client->error() << '\n';
        return kExitNotRunning;
    }
    for (;;) {
        std::string error;
        auto line = client->receive(o.follow ? kForever : kAnswerTimeout, error);
        if (!line) {
            err << "mainstay: " << error << '\n';
            return o.follow ? 0 : kExitNotRunning;
        }
        if (line->contains("event")) {
            if (o.json) out << (*line)["event"].dump() << '\n';
            else out << report::render_event((*line)["event"]) << '\n';
            out.flush();
            continue;
        }
        if (refused(*line, err)) return 1;
        if (line->value("end", false)) return 0;
    }
}

int control_command(const config::MainConfig& main, const std::string& verb, const ClientOptions& o, std::ostream& out,
                    std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(main, err, code);
    if (!client) return code;
    const std::string name = o.names.empty() ? std::string() : o.names.front();
    auto answer = ask(*client, {{"cmd", verb}, {"name", name}}, err);
    if (!answer) return kExitNotRunning;
    if (refused(*answer, err)) return 1;
    out << name << ": " << verb << " requested\n";
    return 0;
}

int analyze_command(const config::MainConfig& main, const ClientOptions& o, std::ostream& out, std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(main, err, code);
    if (!client) return code;
    auto answer = ask(*client, {{"cmd", "analyze"}}, err);
    if (!answer) return kExitNotRunning;
    if (refused(*answer, err)) return 1;
    const nlohmann::json& timeline = (*answer)["analyze"];
    if (o.json) out << timeline.dump() << '\n';
    else out << report::render_timeline_text(timeline);
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

int reload_command(const config::MainConfig& main, std::ostream& out, std::ostream& err) {
    int code = kExitNotRunning;
    auto client = connect(main, err, code);
    if (!client) return code;
    auto answer = ask(*client, {{"cmd", "reload"}}, err, kReloadTimeout);
    if (!answer) return kExitNotRunning;
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
