#include "report/status_table.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "report/format.hpp"
#include "report/json_read.hpp"

namespace mainstay::report {

namespace {

using nlohmann::json;
namespace jr = json_read;

constexpr std::size_t kGap = 2;         // spaces between columns
constexpr std::size_t kMinReason = 16;  // below this, NAME is cut to give the reason room
constexpr std::size_t kMinName = 6;     // a cut name keeps at least this much

std::string pad(const std::string& s, std::size_t width) {
    const std::size_t n = columns(s);
    return n >= width ? s : s + std::string(width - n, ' ');
}

std::string rstrip(std::string s) {
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

std::string or_dash(std::optional<std::int64_t> v) {
    return v ? std::to_string(*v) : "-";
}

// A table whose last column takes the room left. When that room is below kMinReason, the
// `droppable` columns are left out, in that order, and then column 0 (a name) is cut. Every
// cell is already one line.
std::vector<std::string> layout(const std::vector<std::string>& header,
                                const std::vector<std::vector<std::string>>& rows, std::size_t width,
                                const std::vector<std::size_t>& droppable = {}) {
    const std::size_t n = header.size();
    std::vector<std::size_t> w(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        w[i] = columns(header[i]);
        for (const auto& r : rows) w[i] = std::max(w[i], columns(r[i]));
    }
    std::vector<bool> shown(n, true);
    auto fixed = [&] {
        std::size_t sum = 0;
        for (std::size_t i = 0; i + 1 < n; ++i) sum += shown[i] ? w[i] + kGap : 0;
        return sum;
    };
    const std::size_t wanted_reason = std::min(w[n - 1], kMinReason);
    for (std::size_t d : droppable) {
        if (fixed() + wanted_reason <= width) break;
        shown[d] = false;
    }
    if (fixed() + wanted_reason > width && w[0] > kMinName) {
        const std::size_t need = fixed() + wanted_reason - width;
        w[0] = std::max(kMinName, w[0] > need ? w[0] - need : 0);
    }
    const std::size_t room = width > fixed() ? width - fixed() : 0;
    std::vector<std::string> lines;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t i = 0; i + 1 < n; ++i) {
            if (shown[i]) out += pad(fit(cells[i], w[i]), w[i] + kGap);
        }
        out += fit(cells[n - 1], room);
        lines.push_back(fit(rstrip(out), width));  // a width too small for the fixed columns still holds
    };
    line(header);
    for (const auto& r : rows) line(r);
    return lines;
}

std::vector<std::string> service_row(const json& s) {
    std::string next = "-";
    if (auto ms = jr::integer(s, "next_attempt_in_ms")) next = "in " + compact_duration(Duration(*ms));
    const auto* ready = jr::field(s, "ready");
    return {one_line(jr::text(s, "name", "?")), one_line(jr::text(s, "kind", "-")), one_line(jr::text(s, "state", "-")),
            ready && ready->is_boolean() ? (ready->get<bool>() ? "yes" : "no") : "-", or_dash(jr::integer(s, "pid")),
            or_dash(jr::integer(s, "restarts")),
            // Closed is the usual case: only a breaker that holds restarts back stands out.
            jr::text(s, "breaker_state", "-") == "closed" ? "-" : one_line(jr::text(s, "breaker_state", "-")), next,
            one_line(jr::text(s, "reason"))};
}

std::string mode_line(const json& doc) {
    std::string line = "mode: " + jr::text(doc, "mode", "unknown");
    line += " (since " + jr::clock_of(jr::text(doc, "since")) + " UTC, ";
    const json* startup = jr::field(doc, "startup");
    if (startup == nullptr || !jr::flag(*startup, "done")) {
        line += "startup in progress)";
    } else if (auto ms = jr::integer(*startup, "duration_ms")) {
        line += "startup " + std::to_string(*ms) + " ms)";
    } else {
        line += "startup done)";
    }
    return line;
}

}  // namespace

std::string render_breakers(const json& doc, std::size_t width) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : jr::list(doc, "services")) {
        const json* b = jr::field(s, "breaker");
        if (b == nullptr || !b->is_object()) continue;
        std::string failures = or_dash(jr::integer(*b, "failures"));
        if (auto threshold = jr::integer(*b, "failure_threshold")) failures += "/" + std::to_string(*threshold);
        auto when = [&](const char* key) {
            const std::string iso = jr::text(*b, key);
            return iso.empty() ? std::string("-") : jr::clock_of(iso);
        };
        std::string next = "-";
        if (auto ms = jr::integer(*b, "next_trial_in_ms")) next = "in " + compact_duration(Duration(*ms));
        rows.push_back({one_line(jr::text(s, "name", "?")), one_line(jr::text(*b, "operation", "-")),
                        one_line(jr::text(*b, "state", "-")), failures, or_dash(jr::integer(*b, "successes")),
                        or_dash(jr::integer(*b, "rejected")), when("last_failure"), when("last_success"), next});
    }
    std::string out;
    for (const auto& l : layout({"SERVICE", "GUARDS", "STATE", "FAILURES", "SUCCESSES", "REJECTED", "LAST FAILURE",
                                 "LAST SUCCESS", "NEXT TRIAL"},
                                rows, width, {6, 7}))
        out += l + "\n";
    return out;
}

std::string render_table(const json& doc, std::size_t width) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : jr::list(doc, "services")) rows.push_back(service_row(s));
    std::vector<std::string> lines =
        layout({"NAME", "KIND", "STATE", "READY", "PID", "RST", "BREAKER", "NEXT", "REASON"}, rows, width, {1, 3});

    const json& caps = jr::list(doc, "capabilities");
    if (!caps.empty()) {
        std::vector<std::vector<std::string>> cap_rows;
        for (const auto& c : caps) {
            std::string tier = one_line(jr::text(c, "tier", "-"));
            if (c.contains("held_at") && c["held_at"].is_string()) tier += " (held)";
            cap_rows.push_back({one_line(jr::text(c, "name", "?")), one_line(jr::text(c, "state", "-")), tier,
                                one_line(jr::text(c, "reason"))});
        }
        lines.emplace_back();
        for (auto& l : layout({"CAPABILITY", "STATE", "TIER", "REASON"}, cap_rows, width))
            lines.push_back(std::move(l));
    }
    lines.emplace_back();
    lines.push_back(fit(mode_line(doc), width));

    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

}  // namespace mainstay::report
