// The results of bench/compare: percentiles of the samples, and the table (plain or Markdown), the
// JSON and the SVG bar chart written from the rows.
#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "compare.hpp"

namespace mainstay::bench::compare {

// ---- statistics and results ---------------------------------------------------------------------

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const double rank = p * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(rank));
    const auto hi = std::min(v.size() - 1, lo + 1);
    return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

namespace {

std::string format_value(double v) {
    if (std::isnan(v)) return "n/a";
    char buf[32];
    if (std::fabs(v) >= 100) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else if (std::fabs(v) >= 10) {
        std::snprintf(buf, sizeof buf, "%.1f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.2f", v);
    }
    return buf;
}

std::string ratio(const Row& r, Kind k = Kind::mainstay) {
    const double f = r.value[int(Kind::floor)], m = r.value[int(k)];
    if (std::isnan(f) || std::isnan(m) || f <= 0) return "";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2fx", m / f);
    return buf;
}

std::string json_number(double v) {
    if (std::isnan(v)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

}  // namespace

// ---- output -------------------------------------------------------------------------------------

void print_table(const std::vector<Row>& rows, FILE* out, bool markdown) {
    std::vector<std::string> head{"measure"};
    for (const char* c : kColumns) head.emplace_back(c);
    head.emplace_back("mainstay/floor");
    head.emplace_back("no cgroup/floor");
    head.emplace_back("goal (mainstay)");
    auto line = [&](const std::vector<std::string>& cells) {
        if (markdown) {
            std::fprintf(out, "|");
            for (const auto& c : cells) std::fprintf(out, " %s |", c.c_str());
            std::fprintf(out, "\n");
        } else {
            std::fprintf(out, "%-46s", cells[0].c_str());
            for (std::size_t i = 1; i + 1 < cells.size(); ++i)
                std::fprintf(out, " %*s", i == 3 ? 19 : 11, cells[i].c_str());
            std::fprintf(out, "  %s\n", cells.back().c_str());
        }
    };
    line(head);
    if (markdown) std::fprintf(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for (const auto& r : rows) {
        std::string goal = r.goal;
        if (r.met) {
            auto m = r.met(r);
            if (m) goal += *m ? " (met)" : " (MISSED)";
        }
        std::vector<std::string> cells{r.measure + " (" + r.unit + ")"};
        for (double v : r.value) cells.push_back(format_value(v));
        cells.push_back(ratio(r));
        cells.push_back(ratio(r, Kind::mainstay_nocg));
        cells.push_back(goal);
        line(cells);
    }
}

void write_json(const std::vector<Row>& rows, const Options& o, const std::string& file) {
    std::ofstream f(file);
    utsname u{};
    ::uname(&u);
    f << "{\n  \"machine\": {\"cpus\": " << std::thread::hardware_concurrency()
      << ", \"kernel\": " << json_string(u.release) << "},\n  \"options\": {\"rounds\": " << o.rounds
      << ", \"idle_seconds\": " << o.idle_seconds << ", \"probe_seconds\": " << o.probe_seconds
      << ", \"events\": " << o.events << ", \"chain_runs\": " << o.chain_runs << ", \"small\": " << o.small
      << ", \"big\": " << o.big << ", \"huge\": " << o.huge << "},\n  \"rows\": [\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        f << "    {\"id\": " << json_string(r.id) << ", \"measure\": " << json_string(r.measure)
          << ", \"unit\": " << json_string(r.unit);
        for (int k = 0; k < kKinds; ++k) f << ", " << json_string(kNames[k]) << ": " << json_number(r.value[k]);
        const double fl = r.value[0], m = r.value[1], n = r.value[2];
        f << ", \"ratio\": " << json_number(std::isnan(fl) || fl <= 0 ? NAN : m / fl)
          << ", \"ratio_nocg\": " << json_number(std::isnan(fl) || fl <= 0 ? NAN : n / fl)
          << ", \"goal\": " << json_string(r.goal);
        std::optional<bool> met = r.met ? r.met(r) : std::nullopt;
        f << ", \"met\": " << (met ? (*met ? "true" : "false") : "null") << "}" << (i + 1 < rows.size() ? "," : "")
          << "\n";
    }
    f << "  ]\n}\n";
}

void write_svg(const std::vector<Row>& rows, const std::string& file) {
    const char* colors[kKinds] = {"#888888", "#2b7bb9", "#8fbfe0", "#d9822b", "#3a9d5d"};
    const int width = 760, label = 110, bar_h = 14, gap = 4, title_h = 22, panel_gap = 10;
    const int panel_h = title_h + kKinds * (bar_h + gap) + panel_gap;
    const int height = 40 + static_cast<int>(rows.size()) * panel_h;
    std::ofstream f(file);
    f << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">mainstay (in cgroups, and without) beside a "
         "bare C floor, "
         "supervisord and runit (shorter is better)</text>\n";
    int y = 40;
    for (const auto& r : rows) {
        f << "<text x=\"10\" y=\"" << y + 15 << "\" font-weight=\"bold\">" << r.measure << " (" << r.unit
          << ")</text>\n";
        double max = 0;
        for (double v : r.value) {
            if (!std::isnan(v)) max = std::max(max, v);
        }
        int by = y + title_h;
        for (int k = 0; k < kKinds; ++k, by += bar_h + gap) {
            f << "<text x=\"" << label - 6 << "\" y=\"" << by + bar_h - 3 << "\" text-anchor=\"end\">" << kNames[k]
              << "</text>\n";
            const double v = r.value[k];
            const int room = width - label - 90;
            const int w = std::isnan(v) || max <= 0 ? 0 : std::max(1, static_cast<int>(room * v / max));
            if (w > 0) {
                f << "<rect x=\"" << label << "\" y=\"" << by << "\" width=\"" << w << "\" height=\"" << bar_h
                  << "\" fill=\"" << colors[k] << "\"/>\n";
            }
            f << "<text x=\"" << label + w + 5 << "\" y=\"" << by + bar_h - 3 << "\">" << format_value(v)
              << "</text>\n";
        }
        y += panel_h;
    }
    f << "</svg>\n";
}

}  // namespace mainstay::bench::compare
