#include "report/timeline.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <vector>

#include "report/json_read.hpp"

namespace mainstay::report {

namespace {

using nlohmann::json;
namespace jr = json_read;

bool one_of(std::string_view word, std::initializer_list<std::string_view> words) {
    return std::find(words.begin(), words.end(), word) != words.end();
}

// The states in which a service has had its chance (SPEC §4: the startup phase waits for each
// to be ready, completed, or to have failed its attempt; `blocked` counts too): from then on a
// soft dependent may go.
bool settles(supervisor::State state) {
    using supervisor::State;
    switch (state) {
        case State::ready:
        case State::completed:
        case State::failed:
        case State::paused:
        case State::unhealthy:
        case State::recovering:
        case State::stopped:
        case State::blocked:
            return true;
        default:
            return false;
    }
}

// One service of the answer: its record (null when it had no transition) and its edges.
struct Row {
    std::string name;
    std::string kind;
    const StartupTimeline::Times* times{nullptr};
    json depends_on = json::array();
    std::string ready_by{};  // the status document's: notify, fd, log_line, probe, ready_after, exit
};

std::optional<TimePoint> done_at(const Row& r) {
    if (r.times == nullptr) return std::nullopt;
    return r.times->ready ? r.times->ready : r.times->settled;
}

// When dependency `d` let its dependent go, if it did by `by`: ready, or else had its chance.
std::optional<TimePoint> gate_at(const Row& d, TimePoint by) {
    if (d.times == nullptr) return std::nullopt;
    if (d.times->ready && *d.times->ready <= by) return d.times->ready;
    if (d.times->settled && *d.times->settled <= by) return d.times->settled;
    return std::nullopt;
}

// The critical chain as indices into `rows`, from the service done last down to its root.
std::vector<std::size_t> critical_chain(const std::vector<Row>& rows) {
    std::optional<std::size_t> head;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto done = done_at(rows[i]);
        if (!done) continue;
        if (!head) {
            head = i;
            continue;
        }
        const auto best = *done_at(rows[*head]);
        const auto launched = rows[i].times->launched, best_launched = rows[*head].times->launched;
        if (*done > best || (*done == best && launched > best_launched)) head = i;
    }
    std::vector<std::size_t> chain;
    if (!head) return chain;
    std::map<std::string, std::size_t, std::less<>> index;
    for (std::size_t i = 0; i < rows.size(); ++i) index.emplace(rows[i].name, i);
    std::set<std::size_t> seen;
    for (std::size_t at = *head;;) {
        chain.push_back(at);
        seen.insert(at);
        const Row& row = rows[at];
        const auto by = row.times->launched ? row.times->launched : row.times->settled;
        if (!by) break;
        std::optional<std::size_t> gate;
        std::optional<TimePoint> gate_time;
        for (const auto& d : row.depends_on) {
            auto it = index.find(jr::text(d, "name"));
            if (it == index.end() || seen.count(it->second) != 0) continue;
            const auto when = gate_at(rows[it->second], *by);
            if (when && (!gate_time || *when > *gate_time)) {
                gate = it->second;
                gate_time = when;
            }
        }
        if (!gate) break;
        at = *gate;
    }
    return chain;
}

std::string offset_text(const json& service, std::string_view key, std::string_view sign) {
    const auto ms = jr::integer(service, key);
    return ms ? std::string(sign) + precise_duration(Duration(*ms)) : std::string("-");
}

}  // namespace

void StartupTimeline::begin(TimePoint at, std::optional<std::vector<std::string>> members) {
    began_ = at;
    ended_.reset();
    end_mode_.clear();
    services_.clear();
    members_.reset();
    if (members) members_.emplace(std::make_move_iterator(members->begin()), std::make_move_iterator(members->end()));
}

bool StartupTimeline::member(std::string_view name) const {
    return !members_ || members_->count(name) != 0 || services_.count(name) != 0;
}

void StartupTimeline::record(const supervisor::Transition& t, TimePoint at) {
    using Subject = supervisor::Transition::Subject;
    if (!began_) begin(at);
    if (ended_) return;
    if (t.subject == Subject::mode) {
        if (t.from == supervisor::Mode::starting && t.to != supervisor::Mode::starting) {
            ended_ = at;
            end_mode_ = std::string(t.to.name());
        }
        return;
    }
    if (t.subject != Subject::service) return;
    auto it = services_.find(t.name);
    if (it == services_.end()) it = services_.emplace(t.name, Times{}).first;
    Times& s = it->second;
    using supervisor::State;
    const auto* to = std::get_if<State>(&t.to.value());
    if (to == nullptr) return;
    if (!s.launched && (t.from == State::waiting || t.from == State::blocked) &&
        !(*to == State::waiting || *to == State::blocked || *to == State::stopping || *to == State::stopped)) {
        s.launched = at;
    }
    if (!s.starting && *to == State::starting) s.starting = at;
    if (!s.running && *to == State::running) s.running = at;
    if (!s.ready && (*to == State::ready || *to == State::completed)) s.ready = at;
    if (!s.settled && settles(*to)) s.settled = at;
    s.outcome = std::string(t.to.name());
    s.outcome_at = at;
}

json timeline_json(const StartupTimeline& timeline, const json& status_document, TimePoint steady_now,
                   WallTime wall_now) {
    const auto began = timeline.began();
    auto offset = [&](const std::optional<TimePoint>& at) -> json {
        if (!at || !began) return nullptr;
        return std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(*at - *began).count());
    };

    std::vector<Row> rows;
    std::set<std::string, std::less<>> listed;
    for (const auto& s : jr::list(status_document, "services")) {
        Row row;
        row.name = jr::text(s, "name");
        if (row.name.empty() || !timeline.member(row.name) || !listed.insert(row.name).second) continue;
        row.kind = jr::text(s, "kind", "process");
        row.ready_by = jr::text(s, "ready_by");
        if (auto it = timeline.services().find(row.name); it != timeline.services().end()) row.times = &it->second;
        for (const auto& d : jr::list(s, "depends_on")) {
            const auto* required = jr::field(d, "required");
            row.depends_on.push_back({{"name", jr::text(d, "name")},
                                      {"required", !(required && required->is_boolean()) || required->get<bool>()}});
        }
        rows.push_back(std::move(row));
    }
    // Services of the startup phase that the document no longer has.
    for (const auto& [name, times] : timeline.services()) {
        if (listed.count(name) == 0) rows.push_back({name, "process", &times, json::array(), {}});
    }

    // As a Gantt chart reads: in the order they were launched, the others after.
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        const auto at = a.times ? a.times->launched : std::nullopt, bt = b.times ? b.times->launched : std::nullopt;
        return at && (!bt || *at < *bt);
    });

    const std::vector<std::size_t> chain = critical_chain(rows);
    const std::set<std::size_t> critical(chain.begin(), chain.end());

    json services = json::array();
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        const StartupTimeline::Times none;
        const StartupTimeline::Times& t = r.times ? *r.times : none;
        services.push_back({{"name", r.name},
                            {"kind", r.kind},
                            {"launched_ms", offset(t.launched)},
                            {"running_ms", offset(t.running              ? t.running
                                                  : r.kind == "external" ? t.starting
                                                                         : std::nullopt)},
                            {"ready_ms", offset(t.ready)},
                            {"ready_by", r.ready_by.empty() ? json(nullptr) : json(r.ready_by)},
                            {"settled_ms", offset(t.settled)},
                            {"outcome_ms", offset(t.outcome_at)},
                            {"outcome", t.outcome},
                            {"depends_on", r.depends_on},
                            {"critical", critical.count(i) != 0}});
    }

    json chain_json = json::array();
    for (std::size_t k = 0; k < chain.size(); ++k) {
        const json& s = services[chain[k]];
        const Row& r = rows[chain[k]];
        // The head at when it was done; each next one at when it let the one before it go.
        std::optional<TimePoint> at = done_at(r);
        if (k > 0) {
            const auto& prev = *rows[chain[k - 1]].times;
            at = gate_at(r, *(prev.launched ? prev.launched : prev.settled));
        }
        const json at_ms = offset(at);
        const json& launched = s["launched_ms"];
        json took = nullptr;
        if (at_ms.is_number() && launched.is_number())
            took = std::max<std::int64_t>(0, at_ms.get<std::int64_t>() - launched.get<std::int64_t>());
        chain_json.push_back({{"name", r.name},
                              {"at_ms", at_ms},
                              {"took_ms", took},
                              {"launched_ms", launched},
                              {"running_ms", s["running_ms"]},
                              {"ready_ms", s["ready_ms"]},
                              {"outcome", s["outcome"]}});
    }

    const auto ended = timeline.ended();
    json startup = {{"begin", began ? json(iso_time(wall_time(*began, steady_now, wall_now))) : json(nullptr)},
                    {"done", ended.has_value()},
                    {"duration_ms", offset(ended)},
                    {"elapsed_ms", ended   ? offset(ended)
                                   : began ? offset(steady_now)
                                           : json(0)},
                    {"mode", ended ? json(timeline.end_mode()) : json(nullptr)}};
    return {
        {"startup", std::move(startup)}, {"services", std::move(services)}, {"critical_chain", std::move(chain_json)}};
}

std::string render_timeline_text(const json& timeline) {
    std::string out;
    const json* startup = jr::field(timeline, "startup");
    if (startup == nullptr || jr::text(*startup, "begin").empty()) {
        out += "startup: not begun\n";
    } else if (jr::flag(*startup, "done")) {
        out += "startup: " + precise_duration(Duration(jr::integer(*startup, "duration_ms").value_or(0))) + " (mode " +
               one_line(jr::text(*startup, "mode", "?")) + ")\n";
    } else {
        out += "startup: in progress (" + precise_duration(Duration(jr::integer(*startup, "elapsed_ms").value_or(0))) +
               " so far)\n";
    }

    using Line = std::array<std::string, 6>;
    std::vector<Line> table{{"SERVICE", "LAUNCHED", "RUNNING", "READY", "READY BY", "OUTCOME"}};
    for (const auto& s : jr::list(timeline, "services")) {
        table.push_back({one_line(jr::text(s, "name", "?")), offset_text(s, "launched_ms", "+"),
                         offset_text(s, "running_ms", "+"), offset_text(s, "ready_ms", "+"),
                         one_line(jr::text(s, "ready_by", "-")), one_line(jr::text(s, "outcome", "-"))});
    }
    std::array<std::size_t, 6> width{};
    for (const auto& line : table) {
        for (std::size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], columns(line[c]));
    }
    for (const auto& line : table) {
        std::string text;
        for (std::size_t c = 0; c < line.size(); ++c) {
            text += line[c];
            if (c + 1 < line.size()) text += std::string(width[c] - columns(line[c]) + 2, ' ');
        }
        out += text + "\n";
    }

    out += "\ncritical chain:";
    const json& chain = jr::list(timeline, "critical_chain");
    if (chain.empty()) return out + " none (no service got that far)\n";
    out += "\n";
    for (std::size_t k = 0; k < chain.size(); ++k) {
        const json& e = chain[k];
        std::string line = k == 0 ? std::string() : std::string(2 * (k - 1), ' ') + "\u2514\u2500";
        line += one_line(jr::text(e, "name", "?")) + " " + offset_text(e, "at_ms", "@");
        if (jr::integer(e, "took_ms")) line += " " + offset_text(e, "took_ms", "+");
        if (const std::string outcome = jr::text(e, "outcome"); !one_of(outcome, {"ready", "completed"})) {
            line += " (" + one_line(outcome) + ")";
        }
        out += line + "\n";
    }
    return out;
}

}  // namespace mainstay::report
