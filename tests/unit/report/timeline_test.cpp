#include "report/timeline.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sample.hpp"

using namespace mainstay;
using namespace mainstay::report;
using namespace mainstay::testing;
using nlohmann::json;
using Subject = supervisor::Transition::Subject;

// The typed state a transition's text names (the journal's words), as the tests write them.
supervisor::StateOf service_state(std::string_view name) {
    for (int i = 0; i <= static_cast<int>(supervisor::State::failed); ++i) {
        const auto state = static_cast<supervisor::State>(i);
        if (supervisor::to_string(state) == name) return state;
    }
    FAIL("no service state named " << name);
    return supervisor::State::waiting;
}

supervisor::StateOf mode_state(std::string_view name) {
    for (int i = 0; i <= static_cast<int>(supervisor::Mode::stopping); ++i) {
        const auto mode = static_cast<supervisor::Mode>(i);
        if (supervisor::to_string(mode) == name) return mode;
    }
    FAIL("no mode named " << name);
    return supervisor::Mode::starting;
}

namespace {

const TimePoint kBegin = kSteadyNow - 5s;

// A timeline begun at kBegin, fed transitions at milliseconds from then.
struct Feed {
    StartupTimeline timeline;
    Feed() { timeline.begin(kBegin); }
    Feed& service(const std::string& name, const std::string& from, const std::string& to, int ms) {
        timeline.record(
            {Subject::service, name, service_state(from), service_state(to), "", std::nullopt, std::nullopt},
            kBegin + std::chrono::milliseconds(ms));
        return *this;
    }
    // waiting -> starting -> running -> ready at launch, launch + 1, ready.
    Feed& up(const std::string& name, int launch, int ready) {
        return service(name, "waiting", "starting", launch)
            .service(name, "starting", "running", launch + 1)
            .service(name, "running", "ready", ready);
    }
    Feed& mode(const std::string& from, const std::string& to, int ms) {
        timeline.record({Subject::mode, "", mode_state(from), mode_state(to), "", std::nullopt, std::nullopt},
                        kBegin + std::chrono::milliseconds(ms));
        return *this;
    }
};

using Deps = std::vector<std::pair<std::string, bool>>;

json svc(const std::string& name, Deps deps = {}, const std::string& kind = "process") {
    json d = json::array();
    for (const auto& [n, required] : deps) d.push_back({{"name", n}, {"required", required}});
    return {{"name", name}, {"kind", kind}, {"state", "ready"}, {"depends_on", d}};
}

json doc(std::vector<json> services) {
    return {{"mode", "full"}, {"services", services}};
}

json analyze(const Feed& f, const json& status) {
    return timeline_json(f.timeline, status, kSteadyNow, kWallNow);
}

const json& service_of(const json& t, const std::string& name) {
    for (const auto& s : t["services"]) {
        if (s["name"] == name) return s;
    }
    FAIL("no service " << name);
    static const json none;
    return none;
}

std::vector<std::string> chain_names(const json& t) {
    std::vector<std::string> names;
    for (const auto& e : t["critical_chain"]) names.push_back(e["name"].get<std::string>());
    return names;
}

// --- a tiny XML reader: enough to tell that the SVG is well formed and to count its shapes ---

struct Element {
    std::string name;
    std::map<std::string, std::string> attributes;
    std::string text;  // its direct text, unescaped
};

struct Parsed {
    bool ok{false};
    std::string error;
    std::vector<Element> elements;  // in document order
};

// `&amp;` and the other four, and numeric references; nullopt for a bare `&` or an unknown one.
std::optional<std::string> unescape(const std::string& s) {
    static const std::map<std::string, std::string> entities{
        {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '<') return std::nullopt;
        if (s[i] != '&') {
            out += s[i];
            continue;
        }
        const auto semi = s.find(';', i);
        if (semi == std::string::npos) return std::nullopt;
        const std::string name = s.substr(i + 1, semi - i - 1);
        if (auto it = entities.find(name); it != entities.end())
            out += it->second;
        else if (name.size() > 1 && name[0] == '#')
            out += '?';
        else
            return std::nullopt;
        i = semi;
    }
    return out;
}

Parsed parse_xml(const std::string& text) {
    Parsed p;
    std::vector<std::size_t> open;  // indices into p.elements
    auto fail = [&](const std::string& why, std::size_t at) {
        p.error = why + " at " + std::to_string(at);
        return p;
    };
    std::size_t i = 0;
    bool root_closed = false;
    while (i < text.size()) {
        if (text[i] != '<') {
            const auto next = text.find('<', i);
            const std::string chunk = text.substr(i, next == std::string::npos ? std::string::npos : next - i);
            auto plain = unescape(chunk);
            if (!plain) return fail("bad text", i);
            if (!open.empty())
                p.elements[open.back()].text += *plain;
            else if (chunk.find_first_not_of(" \n\r\t") != std::string::npos)
                return fail("text outside the root", i);
            if (next == std::string::npos) break;
            i = next;
            continue;
        }
        if (text.compare(i, 2, "<?") == 0) {
            const auto end = text.find("?>", i);
            if (end == std::string::npos) return fail("unterminated <?", i);
            i = end + 2;
            continue;
        }
        if (text.compare(i, 4, "<!--") == 0) {
            const auto end = text.find("-->", i);
            if (end == std::string::npos) return fail("unterminated comment", i);
            i = end + 3;
            continue;
        }
        if (text.compare(i, 2, "</") == 0) {
            const auto end = text.find('>', i);
            if (end == std::string::npos) return fail("unterminated end tag", i);
            const std::string name = text.substr(i + 2, end - i - 2);
            if (open.empty() || p.elements[open.back()].name != name) return fail("unbalanced </" + name + ">", i);
            open.pop_back();
            root_closed = open.empty();
            i = end + 1;
            continue;
        }
        if (root_closed) return fail("a second root", i);
        std::size_t j = i + 1;
        while (j < text.size() &&
               (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '-' || text[j] == ':'))
            ++j;
        Element e;
        e.name = text.substr(i + 1, j - i - 1);
        if (e.name.empty()) return fail("a tag without a name", i);
        for (;;) {
            while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
            if (j >= text.size()) return fail("unterminated tag", i);
            if (text[j] == '>' || text.compare(j, 2, "/>") == 0) break;
            const auto eq = text.find('=', j);
            if (eq == std::string::npos || text[eq + 1] != '"') return fail("an attribute without =\"", j);
            const std::string key = text.substr(j, eq - j);
            const auto close = text.find('"', eq + 2);
            if (close == std::string::npos) return fail("unterminated attribute", j);
            auto value = unescape(text.substr(eq + 2, close - eq - 2));
            if (!value) return fail("bad attribute value of " + key, j);
            if (!e.attributes.emplace(key, *value).second) return fail("attribute " + key + " twice", j);
            j = close + 1;
        }
        p.elements.push_back(std::move(e));
        if (text[j] == '>') {
            open.push_back(p.elements.size() - 1);
            i = j + 1;
        } else {
            if (open.empty()) root_closed = true;
            i = j + 2;
        }
    }
    if (!open.empty()) return fail("unclosed <" + p.elements[open.back()].name + ">", text.size());
    if (p.elements.empty()) return fail("no element", 0);
    p.ok = true;
    return p;
}

bool has_class(const Element& e, const std::string& cls) {
    auto it = e.attributes.find("class");
    if (it == e.attributes.end()) return false;
    const std::string padded = " " + it->second + " ";
    return padded.find(" " + cls + " ") != std::string::npos;
}

std::vector<const Element*> with_class(const Parsed& p, const std::string& name, const std::string& cls) {
    std::vector<const Element*> out;
    for (const auto& e : p.elements) {
        if (e.name == name && has_class(e, cls)) out.push_back(&e);
    }
    return out;
}

// db -> api -> web, api the slow one; cache alone, quick.
Feed chain_feed() {
    Feed f;
    f.up("db", 0, 100).up("cache", 0, 50).up("api", 100, 900).up("web", 900, 1000).mode("starting", "full", 1000);
    return f;
}

json chain_doc() {
    return doc({svc("cache"), svc("db"), svc("api", {{"db", true}}), svc("web", {{"api", true}, {"cache", false}})});
}

}  // namespace

TEST_CASE("the timeline keeps each service's launch, running and ready, and ignores what follows the startup phase") {
    Feed f;
    f.service("db", "waiting", "starting", 0)
        .service("db", "starting", "running", 2)
        .service("db", "running", "ready", 300);
    f.service("api", "waiting", "blocked", 5).service("api", "blocked", "waiting", 10);  // not launches
    f.service("api", "waiting", "starting", 301).service("api", "starting", "running", 302);
    f.service("api", "running", "ready", 400)
        .service("api", "ready", "unhealthy", 450)
        .service("api", "unhealthy", "ready", 650);
    f.service("gpu", "waiting", "starting", 0)
        .service("gpu", "starting", "ready", 120);  // external: probed from its start
    f.mode("starting", "full", 650);
    f.service("db", "ready", "recovering", 900).mode("full", "degraded", 900);  // after the phase
    const json t = analyze(f, doc({svc("db"), svc("api", {{"db", true}}), svc("gpu", {}, "external"), svc("idle")}));

    std::vector<std::string> order;  // as launched, then the never launched
    for (const auto& s : t["services"]) order.push_back(s["name"].get<std::string>());
    CHECK(order == std::vector<std::string>{"db", "gpu", "api", "idle"});
    const json& db = service_of(t, "db");
    CHECK(db["launched_ms"] == 0);
    CHECK(db["running_ms"] == 2);
    CHECK(db["ready_ms"] == 300);
    CHECK(db["settled_ms"] == 300);
    CHECK(db["outcome"] == "ready");  // not the later recovering
    CHECK(db["outcome_ms"] == 300);
    const json& api = service_of(t, "api");
    CHECK(api["launched_ms"] == 301);
    CHECK(api["running_ms"] == 302);
    CHECK(api["ready_ms"] == 400);  // the first ready
    CHECK(api["settled_ms"] == 5);  // blocked: it had its chance then
    CHECK(api["outcome_ms"] == 650);
    CHECK(api["depends_on"] == json::array({{{"name", "db"}, {"required", true}}}));
    const json& gpu = service_of(t, "gpu");
    CHECK(gpu["kind"] == "external");
    CHECK(gpu["running_ms"] == 0);
    CHECK(gpu["ready_ms"] == 120);
    const json& idle = service_of(t, "idle");  // no transition: never left waiting
    CHECK(idle["outcome"] == "waiting");
    CHECK(idle["launched_ms"] == nullptr);
    CHECK(idle["ready_ms"] == nullptr);
    CHECK(idle["critical"] == false);

    CHECK(t["startup"]["done"] == true);
    CHECK(t["startup"]["duration_ms"] == 650);
    CHECK(t["startup"]["elapsed_ms"] == 650);
    CHECK(t["startup"]["mode"] == "full");
    CHECK(t["startup"]["begin"] == "2026-11-23T07:59:58.123Z");  // kWallNow - 5 s
}

TEST_CASE(
    "a service a reload added after the startup phase is not on its timeline, one of the phase that never moved is") {
    StartupTimeline tl;
    tl.begin(kBegin, std::vector<std::string>{"db", "idle"});  // the services there were when the phase began
    tl.record(
        {Subject::service, "db", service_state("waiting"), service_state("starting"), "", std::nullopt, std::nullopt},
        kBegin);
    tl.record(
        {Subject::service, "db", service_state("starting"), service_state("ready"), "", std::nullopt, std::nullopt},
        kBegin + 100ms);
    tl.record({Subject::mode, "", mode_state("starting"), mode_state("degraded"), "", std::nullopt, std::nullopt},
              kBegin + 100ms);
    const json t = timeline_json(tl, doc({svc("db"), svc("idle"), svc("late")}), kSteadyNow, kWallNow);
    std::vector<std::string> names;
    for (const auto& s : t["services"]) names.push_back(s["name"].get<std::string>());
    CHECK(names == std::vector<std::string>{"db", "idle"});  // not "late", added by a reload
    CHECK(service_of(t, "idle")["outcome"] == "waiting");
    // A phase that began with no service at all (an empty services.d, filled later).
    StartupTimeline empty;
    empty.begin(kBegin, std::vector<std::string>{});
    empty.record({Subject::mode, "", mode_state("starting"), mode_state("full"), "", std::nullopt, std::nullopt},
                 kBegin);
    CHECK(timeline_json(empty, doc({svc("late")}), kSteadyNow, kWallNow)["services"].empty());
}

TEST_CASE("while the startup phase goes on the outcome is the state so far and elapsed the time so far") {
    Feed f;
    f.service("db", "waiting", "starting", 0).service("db", "starting", "recovering", 10);
    f.service("gone", "waiting", "starting", 0);  // no longer in the document: still listed
    const json t = analyze(f, doc({svc("db")}));
    CHECK(t["startup"]["done"] == false);
    CHECK(t["startup"]["duration_ms"] == nullptr);
    CHECK(t["startup"]["mode"] == nullptr);
    CHECK(t["startup"]["elapsed_ms"] == 5000);  // kSteadyNow - kBegin
    CHECK(service_of(t, "db")["outcome"] == "recovering");
    CHECK(service_of(t, "db")["settled_ms"] == 10);
    REQUIRE(t["services"].size() == 2);
    CHECK(t["services"][1]["name"] == "gone");
    CHECK(render_timeline_text(t).rfind("startup: in progress (5s so far)\n", 0) == 0);
}

TEST_CASE("a transition before begin begins the phase, and begin again forgets what was recorded") {
    StartupTimeline tl;
    tl.record(
        {Subject::service, "db", service_state("waiting"), service_state("starting"), "", std::nullopt, std::nullopt},
        kBegin);
    REQUIRE(tl.began());
    CHECK(*tl.began() == kBegin);
    CHECK(tl.services().count("db") == 1);
    tl.record({Subject::mode, "", mode_state("starting"), mode_state("critical"), "", std::nullopt, std::nullopt},
              kBegin + 1s);
    CHECK(tl.end_mode() == "critical");
    tl.begin(kBegin + 2s);
    CHECK(tl.services().empty());
    CHECK(!tl.ended());
    CHECK(tl.end_mode().empty());
}

TEST_CASE("the critical chain of three goes from the last one ready through its slow middle to the root") {
    const json t = analyze(chain_feed(), chain_doc());
    CHECK(chain_names(t) == std::vector<std::string>{"web", "api", "db"});
    const json& chain = t["critical_chain"];
    CHECK(chain[0]["at_ms"] == 1000);
    CHECK(chain[0]["took_ms"] == 100);
    CHECK(chain[1]["at_ms"] == 900);
    CHECK(chain[1]["took_ms"] == 800);
    CHECK(chain[2]["at_ms"] == 100);
    CHECK(chain[2]["took_ms"] == 100);
    CHECK(chain[2]["launched_ms"] == 0);
    CHECK(service_of(t, "api")["critical"] == true);
    CHECK(service_of(t, "cache")["critical"] == false);  // web waited on it too, but it was done long before
}

TEST_CASE("in a diamond the chain goes through the branch that became ready last") {
    const json d = doc({svc("db"), svc("api", {{"db", true}}), svc("worker", {{"db", true}}),
                        svc("web", {{"api", true}, {"worker", true}})});
    Feed slow_worker;
    slow_worker.up("db", 0, 100)
        .up("api", 100, 300)
        .up("worker", 100, 600)
        .up("web", 600, 700)
        .mode("starting", "full", 700);
    CHECK(chain_names(analyze(slow_worker, d)) == std::vector<std::string>{"web", "worker", "db"});
    Feed slow_api;
    slow_api.up("db", 0, 100)
        .up("api", 100, 600)
        .up("worker", 100, 300)
        .up("web", 600, 700)
        .mode("starting", "full", 700);
    CHECK(chain_names(analyze(slow_api, d)) == std::vector<std::string>{"web", "api", "db"});
}

TEST_CASE("a failed dependency is on the chain of its soft dependent, and a blocked one is never launched") {
    Feed f;
    f.service("db", "waiting", "starting", 0)
        .service("db", "starting", "running", 1)
        .service("db", "running", "failed", 200);
    f.service("api", "waiting", "blocked", 200);
    f.service("web", "waiting", "starting", 200)
        .service("web", "starting", "running", 201)
        .service("web", "running", "ready", 500);
    f.mode("starting", "degraded", 500);
    const json t = analyze(f, doc({svc("db"), svc("api", {{"db", true}}), svc("web", {{"db", false}})}));
    CHECK(chain_names(t) == std::vector<std::string>{"web", "db"});
    CHECK(t["critical_chain"][1]["at_ms"] == 200);
    CHECK(t["critical_chain"][1]["outcome"] == "failed");
    const json& api = service_of(t, "api");
    CHECK(api["outcome"] == "blocked");
    CHECK(api["launched_ms"] == nullptr);
    CHECK(api["settled_ms"] == 200);
    const std::string text = render_timeline_text(t);
    CHECK(text.find("web @500ms +300ms\n\u2514\u2500db @200ms +200ms (failed)\n") != std::string::npos);
}

TEST_CASE("a service that failed last heads the chain, and a phase where nothing started has no chain") {
    Feed f;
    f.up("base", 0, 50)
        .service("db", "waiting", "starting", 50)
        .service("db", "starting", "failed", 800)
        .mode("starting", "degraded", 800);
    const json t = analyze(f, doc({svc("base"), svc("db", {{"base", true}})}));
    CHECK(chain_names(t) == std::vector<std::string>{"db", "base"});
    CHECK(t["critical_chain"][0]["at_ms"] == 800);
    CHECK(t["critical_chain"][0]["took_ms"] == 750);
    CHECK(render_timeline_text(t).find("critical chain:\ndb @800ms +750ms (failed)\n\u2514\u2500base @50ms +50ms\n") !=
          std::string::npos);

    Feed nothing;
    nothing.mode("starting", "full", 0);
    const json empty = analyze(nothing, doc({}));
    CHECK(empty["critical_chain"] == json::array());
    CHECK(render_timeline_text(empty).find("critical chain: none") != std::string::npos);
}

TEST_CASE("the text form: the startup line, a table of offsets, then the critical chain like systemd's") {
    CHECK(render_timeline_text(analyze(chain_feed(), chain_doc())) ==
          "startup: 1s (mode full)\n"
          "SERVICE  LAUNCHED  RUNNING  READY   READY BY  OUTCOME\n"
          "cache    +0ms      +1ms     +50ms   -         ready\n"
          "db       +0ms      +1ms     +100ms  -         ready\n"
          "api      +100ms    +101ms   +900ms  -         ready\n"
          "web      +900ms    +901ms   +1s     -         ready\n"
          "\n"
          "critical chain:\n"
          "web @1s +100ms\n"
          "\u2514\u2500api @900ms +800ms\n"
          "  \u2514\u2500db @100ms +100ms\n");
    Feed pending;
    pending.service("db", "waiting", "starting", 0);
    const std::string text = render_timeline_text(analyze(pending, doc({svc("db")})));
    CHECK(text.find("db       +0ms      -        -      -         starting\n") != std::string::npos);
    CHECK(render_timeline_text(json::object()).rfind("startup: not begun\n", 0) == 0);  // anything from another version
}

TEST_CASE("the XML check used on the SVG rejects what is not well formed") {
    CHECK(parse_xml("<svg><g/><text>a &amp; b</text></svg>").ok);
    CHECK(!parse_xml("<svg><g></svg>").ok);
    CHECK(!parse_xml("<svg><text>a & b</text></svg>").ok);
    CHECK(!parse_xml("<svg a=\"1\" a=\"2\"/>").ok);
    CHECK(!parse_xml("<svg x=\"<\"/>").ok);
    CHECK(!parse_xml("<svg/><svg/>").ok);
}

TEST_CASE("the SVG: well formed, one bar per service, one edge per dependency, the chain outlined") {
    const json t = analyze(chain_feed(), chain_doc());
    const std::string svg = render_timeline_svg(t);
    const Parsed p = parse_xml(svg);
    INFO(p.error);
    REQUIRE(p.ok);
    const Element& root = p.elements.front();
    CHECK(root.name == "svg");
    CHECK(root.attributes.count("width") == 1);
    CHECK(root.attributes.count("height") == 1);
    CHECK(root.attributes.count("viewBox") == 1);
    CHECK(root.attributes.at("xmlns") == "http://www.w3.org/2000/svg");
    const auto background = with_class(p, "rect", "background");
    REQUIRE(background.size() == 1);
    CHECK(background[0]->attributes.at("fill") == "#ffffff");
    CHECK(with_class(p, "text", "tick").size() >= 3);  // 0ms .. 1s

    const auto bars = with_class(p, "rect", "bar");
    REQUIRE(bars.size() == 4);
    std::map<std::string, const Element*> by_name;
    for (const auto* b : bars) by_name[b->attributes.at("data-service")] = b;
    CHECK(by_name.size() == 4);
    for (const char* name : {"cache", "db", "api", "web"}) CHECK(by_name.count(name) == 1);
    CHECK(by_name["db"]->attributes.at("fill") == "#2e9d4b");
    CHECK(has_class(*by_name["api"], "critical"));
    CHECK(by_name["api"]->attributes.count("stroke") == 1);
    CHECK(!has_class(*by_name["cache"], "critical"));
    // api's bar runs from 100 to 900 ms: eight times db's (0 to 100 ms).
    CHECK(std::stod(by_name["api"]->attributes.at("width")) ==
          doctest::Approx(8 * std::stod(by_name["db"]->attributes.at("width"))));

    std::vector<std::string> names;
    for (const auto& e : p.elements) {
        if (e.name == "text" && has_class(e, "name")) names.push_back(e.text);
    }
    CHECK(names == std::vector<std::string>{"cache", "db", "api", "web"});
    const auto edges = with_class(p, "path", "edge");
    CHECK(edges.size() == 3);  // api -> db, web -> api, web -> cache
    CHECK(with_class(p, "path", "critical").size() == 2);
    CHECK(with_class(p, "line", "startup-end").size() == 1);
}

TEST_CASE("the SVG colours bars by outcome, skips edges to unlisted services, and escapes names") {
    Feed f;
    const std::string odd = "a<b&\"c'";
    f.up(odd, 0, 100).service("db", "waiting", "starting", 0).service("db", "starting", "failed", 50);
    f.service("api", "waiting", "blocked", 50)
        .service("slow", "waiting", "starting", 0)
        .service("slow", "starting", "recovering", 80);
    f.mode("starting", "degraded", 120);
    const json t = analyze(
        f, doc({svc(odd), svc("db"), svc("api", {{"db", true}, {"removed", true}}), svc("slow", {{odd, false}})}));
    const std::string svg = render_timeline_svg(t);
    CHECK(svg.find("a<b") == std::string::npos);
    CHECK(svg.find("a&lt;b&amp;&quot;c&apos;") != std::string::npos);
    const Parsed p = parse_xml(svg);
    INFO(p.error);
    REQUIRE(p.ok);
    std::map<std::string, const Element*> bars;
    for (const auto* b : with_class(p, "rect", "bar")) bars[b->attributes.at("data-service")] = b;
    REQUIRE(bars.size() == 4);
    REQUIRE(bars.count(odd) == 1);
    CHECK(bars[odd]->attributes.at("fill") == "#2e9d4b");
    CHECK(bars["db"]->attributes.at("fill") == "#d64541");
    CHECK(bars["slow"]->attributes.at("fill") == "#f0932b");
    CHECK(bars["api"]->attributes.at("fill") == "#9e9e9e");
    CHECK(has_class(*bars["api"], "not-launched"));
    CHECK(with_class(p, "path", "edge").size() == 2);  // api -> db, slow -> odd; not api -> removed
    bool named = false;
    for (const auto& e : p.elements) named = named || (e.name == "text" && has_class(e, "name") && e.text == odd);
    CHECK(named);
}

TEST_CASE("analyze says what made each service ready: a notification apart from a probe") {
    json dockerd = svc("dockerd");
    dockerd["ready_by"] = "notify";
    json web = svc("web", {{"dockerd", true}});
    web["ready_by"] = "probe";
    Feed f;
    f.up("dockerd", 0, 300).up("web", 300, 500).mode("starting", "full", 500);
    const json t = analyze(f, doc({dockerd, web}));
    CHECK(service_of(t, "dockerd")["ready_by"] == "notify");
    CHECK(service_of(t, "web")["ready_by"] == "probe");
    const std::string text = render_timeline_text(t);
    INFO(text);
    CHECK(text.find("READY BY") != std::string::npos);
    CHECK(text.find("+300ms  notify    ready\n") != std::string::npos);
    CHECK(text.find("+500ms  probe     ready\n") != std::string::npos);
}
