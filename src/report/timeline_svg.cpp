// The SVG Gantt chart of the startup phase (report/timeline.hpp says what it shows). Drawn
// with presentation attributes rather than a style sheet, so any viewer renders it the same;
// classes and data-service name what each shape is, for tests and for anyone styling it.
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <vector>

#include "report/json_read.hpp"
#include "report/timeline.hpp"

namespace mainstay::report {

namespace {

using nlohmann::json;
namespace jr = json_read;

constexpr double kChartWidth = 800;  // the time axis
constexpr double kRightWidth = 170;  // room for the outcome after the longest bar
constexpr double kTop = 60;          // title and tick labels above the first row
constexpr double kRowHeight = 28;
constexpr double kBarHeight = 16;
constexpr double kBottom = 64;  // the end-of-startup label and the legend
constexpr std::size_t kNameColumns = 40;

// Text and attribute values: the five XML specials as entities, control characters (which
// XML 1.0 does not allow) as spaces.
std::string xml(std::string_view text) {
    std::string out;
    for (char c : one_line(text)) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    std::string s = buf;
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    return s == "-0" ? "0" : s;
}

bool one_of(std::string_view word, std::initializer_list<std::string_view> words) {
    return std::find(words.begin(), words.end(), word) != words.end();
}

const char* colour(std::string_view outcome) {
    if (one_of(outcome, {"ready", "completed"})) return "#2e9d4b";
    if (one_of(outcome, {"failed", "paused"})) return "#d64541";
    if (one_of(outcome, {"recovering", "unhealthy"})) return "#f0932b";
    if (one_of(outcome, {"starting", "running"})) return "#3b7dd8";
    return "#9e9e9e";  // blocked, waiting, stopped, ...
}

// A tick step of 1, 2 or 5 times a power of ten milliseconds, giving at most ten ticks.
std::int64_t tick_step(std::int64_t span) {
    for (std::int64_t power = 1;; power *= 10) {
        for (std::int64_t m : {1, 2, 5}) {
            if (span / (m * power) <= 10 || power > 1'000'000'000) return m * power;
        }
    }
}

struct Bar {
    std::string name;
    std::string outcome;
    bool launched{false};
    double start{0};  // ms
    double end{0};    // ms
    double done{0};   // when it let its dependents go: ready, or when it had its chance
    std::optional<double> running;
    bool critical{false};
    std::string tip;
};

std::optional<double> ms(const json& s, std::string_view key) {
    if (auto v = jr::integer(s, key)) return static_cast<double>(*v);
    return std::nullopt;
}

Bar bar_of(const json& s, double elapsed) {
    Bar b;
    b.name = jr::text(s, "name", "?");
    b.outcome = jr::text(s, "outcome", "waiting");
    b.critical = jr::flag(s, "critical");
    const auto launched = ms(s, "launched_ms"), ready = ms(s, "ready_ms"), settled = ms(s, "settled_ms"),
               outcome_at = ms(s, "outcome_ms");
    b.launched = launched.has_value();
    // One never launched: from when it was found blocked (or from the beginning) to the end.
    b.start = b.launched ? *launched : settled.value_or(0);
    b.end = elapsed;  // still trying at the end of the phase, or never launched
    if (one_of(b.outcome, {"ready", "completed"}) && ready)
        b.end = *ready;
    else if (one_of(b.outcome, {"failed", "paused", "stopped", "stopping"}) && outcome_at && b.launched)
        b.end = *outcome_at;
    b.end = std::max(b.end, b.start);
    b.done = std::clamp(ready ? *ready : settled.value_or(b.end), b.start, b.end);
    if (auto running = ms(s, "running_ms"); running && b.launched && *running > b.start)
        b.running = std::min(*running, b.end);
    b.tip = b.name + ": " + b.outcome;
    if (b.launched) {
        b.tip += " (launched +" + precise_duration(Duration(static_cast<std::int64_t>(b.start)));
        if (auto r = ms(s, "running_ms"))
            b.tip += ", running +" + precise_duration(Duration(static_cast<std::int64_t>(*r)));
        if (ready) b.tip += ", ready +" + precise_duration(Duration(static_cast<std::int64_t>(*ready)));
        b.tip += ")";
    } else {
        b.tip += " (never launched";
        if (settled)
            b.tip += "; " + b.outcome + " from +" + precise_duration(Duration(static_cast<std::int64_t>(*settled)));
        b.tip += ")";
    }
    return b;
}

}  // namespace

std::string render_timeline_svg(const json& timeline) {
    const json& services = jr::list(timeline, "services");
    const json* startup = jr::field(timeline, "startup");
    const bool done = startup != nullptr && jr::flag(*startup, "done");
    double elapsed = startup ? static_cast<double>(jr::integer(*startup, "elapsed_ms").value_or(0)) : 0;

    std::vector<Bar> bars;
    std::map<std::string, std::size_t, std::less<>> row_of;
    std::size_t name_columns = 8;
    for (const auto& s : services) {
        bars.push_back(bar_of(s, elapsed));
        row_of.emplace(bars.back().name, bars.size() - 1);
        name_columns = std::max(name_columns, std::min(kNameColumns, columns(bars.back().name)));
        elapsed = std::max(elapsed, bars.back().end);
    }
    // Consecutive links of the critical chain: (dependent, dependency).
    std::set<std::pair<std::string, std::string>> chain_links;
    const json& chain = jr::list(timeline, "critical_chain");
    for (std::size_t k = 0; k + 1 < chain.size(); ++k)
        chain_links.emplace(jr::text(chain[k], "name"), jr::text(chain[k + 1], "name"));

    const std::int64_t span = std::max<std::int64_t>(1, static_cast<std::int64_t>(elapsed));
    const std::int64_t step = tick_step(span);
    const double axis = static_cast<double>((span + step - 1) / step * step);
    const double label_width = std::max(100.0, 24.0 + 7.0 * static_cast<double>(name_columns));
    const double width = label_width + kChartWidth + kRightWidth;
    const double rows_end = kTop + kRowHeight * static_cast<double>(bars.size());
    const double height = rows_end + kBottom;
    auto x_of = [&](double at) { return label_width + at * kChartWidth / axis; };
    auto centre = [&](std::size_t row) { return kTop + kRowHeight * static_cast<double>(row) + kRowHeight / 2; };

    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
           "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
           "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
    out += "<title>mainstay startup timeline</title>\n";
    out += "<defs>\n";
    for (const auto& [id, fill] : {std::pair{"arrow", "#8a8a8a"}, std::pair{"arrow-critical", "#1a1a1a"}}) {
        out += std::string("<marker id=\"") + id +
               "\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">"
               "<path d=\"M0,0 L8,4 L0,8 z\" fill=\"" +
               fill + "\"/></marker>\n";
    }
    out += "</defs>\n";
    out += "<rect class=\"background\" x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) +
           "\" fill=\"#ffffff\"/>\n";

    std::string title = "mainstay startup: ";
    if (startup == nullptr || jr::text(*startup, "begin").empty())
        title += "not begun";
    else if (done)
        title += precise_duration(Duration(jr::integer(*startup, "duration_ms").value_or(0))) + ", mode " +
                 jr::text(*startup, "mode", "?");
    else
        title += "in progress, " + precise_duration(Duration(span)) + " so far";
    out += "<text class=\"title\" x=\"12\" y=\"22\" font-size=\"15\" font-weight=\"bold\" fill=\"#1a1a1a\">" +
           xml(title) + "</text>\n";

    // Row stripes, then the grid and the axis over them.
    for (std::size_t i = 1; i < bars.size(); i += 2) {
        out += "<rect class=\"stripe\" x=\"0\" y=\"" + num(kTop + kRowHeight * static_cast<double>(i)) + "\" width=\"" +
               num(width) + "\" height=\"" + num(kRowHeight) + "\" fill=\"#f4f6f8\"/>\n";
    }
    out += "<g class=\"axis\">\n";
    for (std::int64_t t = 0; t <= static_cast<std::int64_t>(axis); t += step) {
        const std::string x = num(x_of(static_cast<double>(t)));
        out += "<line class=\"grid\" x1=\"" + x + "\" y1=\"" + num(kTop - 6) + "\" x2=\"" + x + "\" y2=\"" +
               num(rows_end) + "\" stroke=\"#e0e0e0\"/>\n";
        out += "<text class=\"tick\" x=\"" + x + "\" y=\"" + num(kTop - 12) +
               "\" text-anchor=\"middle\" fill=\"#444444\">" + xml(precise_duration(Duration(t))) + "</text>\n";
    }
    out += "<line class=\"axis-line\" x1=\"" + num(x_of(0)) + "\" y1=\"" + num(kTop - 6) + "\" x2=\"" +
           num(x_of(axis)) + "\" y2=\"" + num(kTop - 6) + "\" stroke=\"#444444\"/>\n";
    out += "</g>\n";
    if (done) {
        const std::string x = num(x_of(static_cast<double>(jr::integer(*startup, "duration_ms").value_or(0))));
        out += "<line class=\"startup-end\" x1=\"" + x + "\" y1=\"" + num(kTop - 6) + "\" x2=\"" + x + "\" y2=\"" +
               num(rows_end + 4) + "\" stroke=\"#1a1a1a\" stroke-dasharray=\"4 3\"/>\n";
        out += "<text class=\"startup-end-label\" x=\"" + x + "\" y=\"" + num(rows_end + 17) +
               "\" text-anchor=\"middle\" fill=\"#1a1a1a\">end of startup</text>\n";
    }

    // One row per service: its name, its bar (the launch-to-running part lighter), its outcome.
    for (std::size_t i = 0; i < bars.size(); ++i) {
        const Bar& b = bars[i];
        const double y = centre(i);
        out += "<text class=\"name\" x=\"" + num(label_width - 10) + "\" y=\"" + num(y + 4) +
               "\" text-anchor=\"end\" fill=\"#1a1a1a\">" + xml(fit(b.name, kNameColumns)) + "</text>\n";
        const double x0 = x_of(b.start), w = std::max(2.0, x_of(b.end) - x0);
        std::string cls = "bar " + b.outcome + (b.critical ? " critical" : "") + (b.launched ? "" : " not-launched");
        out += "<rect class=\"" + xml(cls) + "\" data-service=\"" + xml(b.name) + "\" x=\"" + num(x0) + "\" y=\"" +
               num(y - kBarHeight / 2) + "\" width=\"" + num(w) + "\" height=\"" + num(kBarHeight) +
               "\" rx=\"2\" fill=\"" + colour(b.outcome) + "\"" +
               (b.launched ? "" : " fill-opacity=\"0.3\" stroke-dasharray=\"3 2\"") +
               (b.critical   ? " stroke=\"#1a1a1a\" stroke-width=\"2\""
                : b.launched ? ""
                             : " stroke=\"#9e9e9e\"") +
               "><title>" + xml(b.tip) + "</title></rect>\n";
        if (b.running) {
            out += "<rect class=\"launching\" x=\"" + num(x0) + "\" y=\"" + num(y - kBarHeight / 2) + "\" width=\"" +
                   num(std::max(1.0, x_of(*b.running) - x0)) + "\" height=\"" + num(kBarHeight) +
                   "\" fill=\"#ffffff\" fill-opacity=\"0.45\"/>\n";
        }
        std::string label = b.outcome;
        if (b.launched) label += ", " + precise_duration(Duration(static_cast<std::int64_t>(b.end - b.start)));
        out += "<text class=\"outcome\" x=\"" + num(x0 + w + 6) + "\" y=\"" + num(y + 4) + "\" fill=\"#444444\">" +
               xml(label) + "</text>\n";
    }

    // Dependency edges: from when the dependency let its dependents go (its bar's end when it
    // became ready) to the dependent's launch.
    for (std::size_t j = 0; j < bars.size(); ++j) {
        for (const auto& d : jr::list(services[j], "depends_on")) {
            const std::string dep = jr::text(d, "name");
            auto it = row_of.find(dep);
            if (it == row_of.end()) continue;
            const Bar& from = bars[it->second];
            const bool critical = chain_links.count({bars[j].name, dep}) != 0;
            // Down (or up) out of the dependency's bar, then into the dependent's from the left.
            const double y2 = centre(j), x2 = x_of(bars[j].start), x1 = x_of(from.done);
            const double y1 = centre(it->second) + (y2 > centre(it->second) ? kBarHeight / 2 : -kBarHeight / 2);
            out += "<path class=\"edge" + std::string(critical ? " critical" : "") + "\" data-from=\"" + xml(dep) +
                   "\" data-to=\"" + xml(bars[j].name) + "\" d=\"M" + num(x1) + "," + num(y1) + " C" + num(x1) + "," +
                   num(y2) + " " + num(x2 - 12) + "," + num(y2) + " " + num(x2) + "," + num(y2) +
                   "\" fill=\"none\" stroke=\"" +
                   (critical ? "#1a1a1a\" stroke-width=\"1.8\" marker-end=\"url(#arrow-critical)\""
                             : "#8a8a8a\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"") +
                   "/>\n";
        }
    }

    // The legend.
    out += "<g class=\"legend\">\n";
    double x = 12;
    const double ly = rows_end + 34;
    for (const auto& [label, fill] :
         {std::pair{"ready, completed", "#2e9d4b"}, std::pair{"failed, paused", "#d64541"},
          std::pair{"recovering, unhealthy", "#f0932b"}, std::pair{"starting, running", "#3b7dd8"},
          std::pair{"blocked, waiting", "#9e9e9e"}}) {
        out += "<rect x=\"" + num(x) + "\" y=\"" + num(ly) + "\" width=\"12\" height=\"12\" fill=\"" + fill + "\"/>\n";
        out += "<text x=\"" + num(x + 17) + "\" y=\"" + num(ly + 10) + "\" fill=\"#444444\">" + label + "</text>\n";
        x += 34 + 7.0 * static_cast<double>(std::string_view(label).size());
    }
    out += "<rect x=\"" + num(x) + "\" y=\"" + num(ly) +
           "\" width=\"12\" height=\"12\" fill=\"#ffffff\" stroke=\"#1a1a1a\" stroke-width=\"2\"/>\n";
    out += "<text x=\"" + num(x + 17) + "\" y=\"" + num(ly + 10) + "\" fill=\"#444444\">critical chain</text>\n";
    out += "</g>\n</svg>\n";
    return out;
}

}  // namespace mainstay::report
