#include "report/why.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "report/format.hpp"
#include "report/json_read.hpp"

namespace mainstay::report {

namespace {

using nlohmann::json;
namespace jr = json_read;

struct Dependency {
    std::string name;
    bool required{true};
};

// Its configured dependencies; a document without "depends_on" (an older one) gives its
// "blocked_by", which are required ones.
std::vector<Dependency> dependencies(const json& service) {
    std::vector<Dependency> out;
    if (const json* deps = jr::field(service, "depends_on"); deps && deps->is_array()) {
        for (const auto& d : *deps) {
            const auto* req = jr::field(d, "required");
            out.push_back({jr::text(d, "name"), !(req && req->is_boolean()) || req->get<bool>()});
        }
        return out;
    }
    for (const auto& b : jr::list(service, "blocked_by")) {
        if (b.is_string()) out.push_back({b.get<std::string>(), true});
    }
    return out;
}

class Walk {
public:
    explicit Walk(const json& doc) {
        for (const auto& s : jr::list(doc, "services")) by_name_.emplace(jr::text(s, "name"), &s);
        for (const auto& c : jr::list(doc, "capabilities")) capabilities_.emplace(jr::text(c, "name"), &c);
    }

    const json* capability(const std::string& name) const {
        auto it = capabilities_.find(name);
        return it == capabilities_.end() ? nullptr : it->second;
    }

    // A capability is FULL or not; when not, it waits on every service of its `requires` that
    // is not ready, and is its own root cause when they all are (its check or hook fails).
    json capability_node(const std::string& name) {
        const json& c = *capability(name);
        const bool full = jr::text(c, "state") == "full";
        json n = {{"name", name},
                  {"kind", "capability"},
                  {"state", jr::text(c, "state", "unknown")},
                  {"reason", jr::text(c, "reason")},
                  {"ready", full},
                  {"next_attempt_in_ms", nullptr},
                  {"next_attempt", nullptr}};
        if (full) return n;
        // With tiers, what each better tier than the active one waits on; else its `requires`.
        std::vector<std::string> required;
        const bool tiered = jr::list(c, "tiers").size() > 1;
        if (tiered) {
            n["tier"] = c.contains("tier") ? c["tier"] : json();
            n["better_tiers"] = jr::list(c, "better_tiers");
            for (const auto& b : jr::list(c, "better_tiers")) {
                for (const auto& r : jr::list(b, "requires")) {
                    if (r.is_string() &&
                        std::find(required.begin(), required.end(), r.get<std::string>()) == required.end()) {
                        required.push_back(r.get<std::string>());
                    }
                }
            }
        } else {
            for (const auto& r : jr::list(c, "requires")) {
                if (r.is_string()) required.push_back(r.get<std::string>());
            }
        }
        json waits = json::array();
        for (const auto& dep : required) {
            const json* d = find(dep);
            if (d != nullptr && jr::flag(*d, "ready")) continue;
            json child = node(dep);
            child["required"] = true;
            waits.push_back(std::move(child));
        }
        n["root_cause"] = waits.empty();
        if (waits.empty()) add_root_cause(name);
        n["waits_on"] = std::move(waits);
        return n;
    }

    const json* find(const std::string& name) const {
        auto it = by_name_.find(name);
        return it == by_name_.end() ? nullptr : it->second;
    }

    json node(const std::string& name) {
        const json* s = find(name);
        if (s == nullptr) {
            add_root_cause(name);
            return {{"name", name},
                    {"state", "unknown"},
                    {"reason", "not in the status document"},
                    {"ready", false},
                    {"next_attempt_in_ms", nullptr},
                    {"next_attempt", nullptr},
                    {"root_cause", true}};
        }
        const bool ready = jr::flag(*s, "ready");
        json n = {{"name", name},
                  {"state", jr::text(*s, "state", "unknown")},
                  {"reason", jr::text(*s, "reason")},
                  {"ready", ready},
                  {"next_attempt_in_ms", nullptr},
                  {"next_attempt", nullptr}};
        if (auto next = jr::integer(*s, "next_attempt_in_ms")) {
            n["next_attempt_in_ms"] = *next;
            n["next_attempt"] = jr::integer(*s, "attempts").value_or(0) + 1;
        }
        if (!seen_.insert(name).second) {
            n["repeated"] = true;
            return n;
        }
        if (ready) return n;
        const bool waiting = n["state"] == "waiting";
        json waits = json::array();
        for (const auto& dep : dependencies(*s)) {
            if (!dep.required && !waiting) continue;
            const json* d = find(dep.name);
            if (d != nullptr && jr::flag(*d, "ready")) continue;
            json child = node(dep.name);
            child["required"] = dep.required;
            waits.push_back(std::move(child));
        }
        n["root_cause"] = waits.empty();
        if (waits.empty()) add_root_cause(name);
        n["waits_on"] = std::move(waits);
        return n;
    }

    json root_causes() const { return causes_; }

private:
    void add_root_cause(const std::string& name) {
        if (cause_set_.insert(name).second) causes_.push_back(name);
    }

    std::map<std::string, const json*, std::less<>> by_name_;
    std::map<std::string, const json*, std::less<>> capabilities_;
    std::set<std::string> seen_;
    std::set<std::string> cause_set_;
    std::vector<std::string> causes_;
};

std::string node_text(const json& n) {
    std::string line = jr::text(n, "name", "?");
    if (const auto* req = jr::field(n, "required"); req && req->is_boolean() && !req->get<bool>()) line += " (soft)";
    line += ": " + jr::text(n, "state", "unknown");
    if (jr::flag(n, "repeated")) return one_line(line + " (shown above)");
    if (const std::string reason = jr::text(n, "reason"); !reason.empty()) line += " (" + reason + ")";
    if (auto next = jr::integer(n, "next_attempt_in_ms")) {
        line += "; ";
        if (auto number = jr::integer(n, "next_attempt")) line += "attempt " + std::to_string(*number) + " ";
        line += "in " + compact_duration(Duration(*next));
    }
    if (jr::flag(n, "root_cause")) line += "   <- root cause";
    return one_line(line);
}

// `prefix` is what goes before the node's connector; children are indented under its name.
void render_node(const json& n, const std::string& prefix, const std::string& connector, bool last, std::string& out) {
    out += prefix + connector + node_text(n) + "\n";
    const json& children = jr::list(n, "waits_on");
    // The root's children hang two columns in; a child's hang under its name.
    const std::string below = connector.empty() ? prefix + "  " : prefix + (last ? "     " : "\u2502    ");
    for (std::size_t i = 0; i < children.size(); ++i) {
        const bool is_last = i + 1 == children.size();
        render_node(children[i], below, is_last ? "\u2514\u2500 " : "\u251c\u2500 ", is_last, out);
    }
}

}  // namespace

json why(const json& doc, std::string_view name) {
    Walk walk(doc);
    const std::string wanted(name);
    json tree;
    std::string description;
    if (const json* s = walk.find(wanted)) {
        tree = walk.node(wanted);
        description = jr::text(*s, "description");
    } else if (const json* c = walk.capability(wanted)) {
        tree = walk.capability_node(wanted);
        description = jr::text(*c, "description");
    } else {
        return {{"error", "no service or capability named " + wanted}};
    }
    const bool ready = tree["ready"].get<bool>();
    return {{"service", wanted},
            {"description", description},
            {"ready", ready},
            {"tree", std::move(tree)},
            {"root_causes", walk.root_causes()}};
}

std::string render_why(const json& answer) {
    if (const auto* error = jr::field(answer, "error"); error && error->is_string())
        return one_line(error->get<std::string>()) + "\n";
    const json* tree = jr::field(answer, "tree");
    if (tree == nullptr) return "no answer\n";
    // What the file says it is, first: "web: The web front".
    const std::string description = jr::text(answer, "description");
    std::string out =
        description.empty() ? std::string() : one_line(jr::text(answer, "service", "?") + ": " + description) + "\n";
    if (jr::flag(answer, "ready")) {
        return out + one_line(jr::text(answer, "service", "?")) + ": " +
               (jr::text(*tree, "kind") == "capability" ? "full" : "ready") + "\n";
    }
    render_node(*tree, "", "", true, out);
    // A capability on a lower tier: why each better one is not active.
    const std::string tier = jr::text(*tree, "tier");
    for (const auto& b : jr::list(*tree, "better_tiers")) {
        out += one_line("  tier " + jr::text(b, "tier", "?") + " is not active: " + jr::text(b, "why")) + "\n";
    }
    if (tree->contains("better_tiers"))
        out += one_line("  active tier: " + (tier.empty() ? std::string("none") : tier)) + "\n";
    std::string causes;
    for (const auto& c : jr::list(answer, "root_causes")) {
        if (!c.is_string()) continue;
        causes += (causes.empty() ? "" : ", ") + c.get<std::string>();
    }
    out += "root causes: " + (causes.empty() ? std::string("none found") : one_line(causes)) + "\n";
    return out;
}

}  // namespace mainstay::report
