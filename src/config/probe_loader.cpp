#include "config/probe_loader.hpp"

#include <algorithm>

#include "config/map_reader.hpp"

namespace mainstay::config {
namespace {

std::optional<HttpProbe> read_http(const Node& node, Diagnostics& diags) {
    if (node.is_scalar()) {  // `http: "http://host/path"` is short for `http: {url: ...}`
        auto url = parse_http_url(node.scalar);
        if (!url) {
            diags.error(node.mark, "'url' must be " + url.error);
            return std::nullopt;
        }
        HttpProbe probe;
        probe.url = node.scalar;
        probe.target = *url.value;
        return probe;
    }
    if (!expect_map(node, "http", diags)) return std::nullopt;
    MapReader r(node, diags);
    HttpProbe probe;
    bool ok = true;
    if (const Node* url = r.get("url")) {
        auto parsed = url->is_scalar() ? parse_http_url(url->scalar)
                                       : Parsed<HttpUrl>::fail("an http:// URL, got " + describe(*url));
        if (parsed) {
            probe.url = url->scalar;
            probe.target = *parsed.value;
        } else {
            diags.error(url->mark, "'url' must be " + parsed.error);
            ok = false;
        }
    } else {
        diags.error(node.mark, "an http probe needs 'url'");
        ok = false;
    }
    std::string method = probe.method;
    r.string("method", method);
    if (method.empty() || !std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        diags.error(r.get("method")->mark, "'method' must be an HTTP method such as GET or HEAD, got '" + method + "'");
        ok = false;
    }
    probe.method = method;
    if (const Node* status = r.get("status")) {
        auto range = status->is_scalar()
                         ? parse_status_range(status->scalar)
                         : Parsed<StatusRange>::fail("an HTTP status code or range LOW-HIGH, got " + describe(*status));
        if (range) {
            probe.status = *range.value;
        } else {
            diags.error(status->mark, "'status' must be " + range.error);
            ok = false;
        }
    }
    if (const Node* headers = r.get("headers")) {
        if (headers->is_map()) {
            if (auto h = read_pairs(*headers, "headers", diags, valid_header_name, "header name"))
                probe.headers = *h;
            else
                ok = false;
        } else {
            diags.error(headers->mark, "'headers' must be a map, got " + describe(*headers));
            ok = false;
        }
    }
    r.optional_path("unix_socket", probe.unix_socket);
    r.optional_string("body_contains", probe.body_contains);
    if (const Node* permanent = r.get("permanent_status")) {
        if (auto list = read_string_list(*permanent, "permanent_status", diags)) {
            for (const auto& [text, at] : *list) {
                auto v = parse_integer(text);
                if (!v || *v.value < 100 || *v.value > 599) {
                    diags.error(at, "'permanent_status' lists HTTP status codes (100-599), got '" + text + "'");
                    ok = false;
                } else if (*v.value >= probe.status.low && *v.value <= probe.status.high) {
                    diags.error(at, "HTTP " + text + " is both healthy (in 'status' " +
                                        std::to_string(probe.status.low) + "-" + std::to_string(probe.status.high) +
                                        ") and permanent: take it out of one");
                    ok = false;
                } else {
                    probe.permanent_status.push_back(static_cast<int>(*v.value));
                }
            }
        } else {
            ok = false;
        }
    }
    r.finish();
    if (!ok) return std::nullopt;
    return probe;
}

}  // namespace

std::optional<ProbeSpec> read_probe(const Node& node, std::string_view key, Diagnostics& diags) {
    if (!expect_map(node, key, diags)) return std::nullopt;
    std::size_t errors_before = diags.error_count();
    MapReader r(node, diags);
    ProbeSpec spec;
    spec.mark = node.mark;

    std::vector<const Entry*> handlers;
    for (const auto& h : kProbeHandlerKeys) {
        if (const Entry* e = r.entry(h)) handlers.push_back(e);
    }
    std::sort(handlers.begin(), handlers.end(), [](const Entry* a, const Entry* b) {
        return a->key_mark.line * 100000 + a->key_mark.col < b->key_mark.line * 100000 + b->key_mark.col;
    });
    if (handlers.empty()) {
        diags.error(node.mark, "probe '" + std::string(key) + "' needs exactly one handler: exec, tcp or http");
    } else if (handlers.size() > 1) {
        diags.error(handlers[1]->key_mark, "probe '" + std::string(key) + "' has two handlers, '" + handlers[0]->key +
                                               "' and '" + handlers[1]->key + "'; use exactly one");
    } else {
        const Entry& h = *handlers.front();
        if (h.key == "exec") {
            if (auto argv = read_command_argv(h.value, "exec", false, diags)) spec.handler = ExecProbe{*argv};
        } else if (h.key == "tcp") {
            auto hp = h.value.is_scalar() ? parse_host_port(h.value.scalar)
                                          : Parsed<HostPort>::fail("host:port, got " + describe(h.value));
            if (hp)
                spec.handler = TcpProbe{*hp.value};
            else
                diags.error(h.value.mark, "'tcp' must be " + hp.error);
        } else if (auto http = read_http(h.value, diags)) {
            spec.handler = *http;
        }
    }
    r.duration("initial_delay", spec.initial_delay);
    r.positive_duration("interval", spec.interval);
    if (r.get("startup_interval")) {
        Duration startup_interval = spec.interval;
        r.positive_duration("startup_interval", startup_interval);
        spec.startup_interval = startup_interval;
    }
    r.positive_duration("timeout", spec.timeout);
    r.count("success_threshold", spec.thresholds.success_threshold, 1);
    r.count("failure_threshold", spec.thresholds.failure_threshold, 1);
    r.finish();
    if (diags.error_count() != errors_before) return std::nullopt;
    return spec;
}

}  // namespace mainstay::config
