#include "cli/export_k8s.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "config/values.hpp"

namespace mainstay::cli {
namespace {

constexpr const char* kConfigDir = "/etc/mainstay";

long long whole_seconds(config::Duration d, long long at_least) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(d + std::chrono::milliseconds(999)).count();
    return std::max<long long>(s, at_least);
}

std::string slurp(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The labels every object carries: the one its selector matches, and who made it.
void labels(YAML::Emitter& out, const std::string& name) {
    out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "app.kubernetes.io/name" << YAML::Value << name;
    out << YAML::Key << "app.kubernetes.io/managed-by" << YAML::Value << "mainstay-export";
    out << YAML::EndMap;
}

void metadata(YAML::Emitter& out, const std::string& name) {
    out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << name;
    labels(out, name);
    out << YAML::EndMap;
}

void string_list(YAML::Emitter& out, const std::vector<std::string>& items) {
    out << YAML::BeginSeq;
    for (const auto& i : items) out << YAML::DoubleQuoted << i;
    out << YAML::EndSeq;
}

// A probe of ours as Kubernetes' (tcpSocket, httpGet or exec); `success_must_be_one`: a startup
// or liveness probe's successThreshold must be 1. A probe through a unix socket has no
// equivalent: it is left out, and a note says so.
void probe(YAML::Emitter& out, const char* key, const config::ProbeSpec& p, bool success_must_be_one,
           std::vector<std::string>& notes) {
    const auto* tcp = std::get_if<config::TcpProbe>(&p.handler);
    const auto* http = std::get_if<config::HttpProbe>(&p.handler);
    const auto* exec = std::get_if<config::ExecProbe>(&p.handler);
    if (http && http->unix_socket) {
        notes.push_back(std::string(key) +
                        ": an http probe through a unix socket has no Kubernetes equivalent: left out");
        return;
    }
    out << YAML::Key << key << YAML::Value << YAML::BeginMap;
    if (tcp) {
        out << YAML::Key << "tcpSocket" << YAML::Value << YAML::BeginMap << YAML::Key << "port" << YAML::Value
            << tcp->address.port << YAML::EndMap;
    } else if (http) {
        out << YAML::Key << "httpGet" << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "path" << YAML::Value << YAML::DoubleQuoted << http->target.target;
        out << YAML::Key << "port" << YAML::Value << http->target.port;
        if (!http->headers.empty()) {
            out << YAML::Key << "httpHeaders" << YAML::Value << YAML::BeginSeq;
            for (const auto& [k, v] : http->headers) {
                out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << k << YAML::Key << "value" << YAML::Value
                    << YAML::DoubleQuoted << v << YAML::EndMap;
            }
            out << YAML::EndSeq;
        }
        out << YAML::EndMap;
        if (http->body_contains)
            notes.push_back(std::string(key) +
                            ": body_contains has no Kubernetes equivalent: the status alone is checked");
    } else if (exec) {
        out << YAML::Key << "exec" << YAML::Value << YAML::BeginMap << YAML::Key << "command" << YAML::Value;
        string_list(out, exec->argv);
        out << YAML::EndMap;
    }
    out << YAML::Key << "initialDelaySeconds" << YAML::Value << whole_seconds(p.initial_delay, 0);
    out << YAML::Key << "periodSeconds" << YAML::Value << whole_seconds(p.interval, 1);
    out << YAML::Key << "timeoutSeconds" << YAML::Value << whole_seconds(p.timeout, 1);
    out << YAML::Key << "successThreshold" << YAML::Value
        << (success_must_be_one ? 1u : std::max(1u, p.thresholds.success_threshold));
    out << YAML::Key << "failureThreshold" << YAML::Value << std::max(1u, p.thresholds.failure_threshold);
    out << YAML::EndMap;
}

void environment(YAML::Emitter& out, const config::ServiceSpec& s) {
    config::EnvVars all = s.env_file_vars;
    for (const auto& e : s.environment) all.push_back(e);
    if (all.empty()) return;
    // The last value of a name wins, as in mainstay; the order of first appearance is kept.
    config::EnvVars merged;
    for (const auto& [k, v] : all) {
        auto it = std::find_if(merged.begin(), merged.end(), [&](const auto& e) { return e.first == k; });
        if (it == merged.end())
            merged.emplace_back(k, v);
        else
            it->second = v;
    }
    out << YAML::Key << "env" << YAML::Value << YAML::BeginSeq;
    for (const auto& [k, v] : merged) {
        out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << k << YAML::Key << "value" << YAML::Value
            << YAML::DoubleQuoted << v << YAML::EndMap;
    }
    out << YAML::EndSeq;
}

std::string cpu_quantity(double cpus) {
    const long long milli = std::llround(cpus * 1000.0);
    return std::to_string(std::max(1LL, milli)) + "m";
}

// The container of one service (split mode). `notes` get what could not be said.
void service_container(YAML::Emitter& out, const config::ServiceSpec& s, const ExportOptions& o,
                       std::vector<std::string>& notes) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << k8s_name(s.name);
    out << YAML::Key << "image" << YAML::Value << o.image;
    out << YAML::Key << "command" << YAML::Value;
    if (s.shell)
        string_list(out, {"/bin/sh", "-c", s.command.empty() ? std::string() : s.command.front()});
    else
        string_list(out, s.command);
    if (s.working_dir) out << YAML::Key << "workingDir" << YAML::Value << s.working_dir->string();
    environment(out, s);
    if (s.limits && (s.limits->memory || s.limits->cpu)) {
        out << YAML::Key << "resources" << YAML::Value << YAML::BeginMap << YAML::Key << "limits" << YAML::Value
            << YAML::BeginMap;
        if (s.limits->cpu)
            out << YAML::Key << "cpu" << YAML::Value << YAML::DoubleQuoted << cpu_quantity(*s.limits->cpu);
        if (s.limits->memory) {
            out << YAML::Key << "memory" << YAML::Value << YAML::DoubleQuoted << std::to_string(*s.limits->memory);
        }
        out << YAML::EndMap << YAML::EndMap;
    }
    if (s.limits && s.limits->pids)
        notes.push_back("limits.pids " + std::to_string(*s.limits->pids) +
                        ": no container field (a node's podPidsLimit)");
    if (s.probes.startup) probe(out, "startupProbe", *s.probes.startup, true, notes);
    if (s.probes.readiness) probe(out, "readinessProbe", *s.probes.readiness, false, notes);
    if (s.probes.liveness) probe(out, "livenessProbe", *s.probes.liveness, true, notes);
    out << YAML::EndMap;
}

// What a service says that Kubernetes cannot, as comment lines.
void service_notes(const config::ServiceSpec& s, std::vector<std::string>& notes) {
    for (const auto& d : s.depends_on) {
        notes.push_back("depends_on " + d.name +
                        ": pods start together here; an init container running `mainstay wait` on " + k8s_name(d.name) +
                        " would order them");
        if (d.restart)
            notes.push_back("depends_on " + d.name +
                            " restart: true: not mapped (Kubernetes restarts no pod for another's)");
    }
    const std::string_view ready = config::ready_source(s);
    if (ready == "notify" || ready == "fd" || ready == "log_line") {
        const char* what = ready == "notify" ? "sd_notify" : ready == "fd" ? "a readiness fd" : "log lines";
        notes.push_back("ready: {" + std::string(ready) + "}: Kubernetes does not read " + what +
                        "; add a readinessProbe");
    }
    if (s.ready.watchdog) notes.push_back("ready.watchdog: no Kubernetes equivalent; a livenessProbe is the nearest");
    if (s.restart.policy != config::RestartPolicy::always && s.kind == config::Kind::process) {
        notes.push_back("restart.policy: a Deployment always restarts its container");
    }
    notes.push_back("backoff, circuit breaker and safety valve: Kubernetes' own CrashLoopBackOff applies instead");
    if (s.user || s.group) notes.push_back("user/group: set securityContext.runAsUser/runAsGroup to their numeric ids");
    if (!s.forward_signals.empty()) notes.push_back("forward_signals: send them with kubectl exec");
}

// A Deployment of one replica, up to the pod spec's map (left open): apiVersion, kind,
// metadata, spec (replicas, `Recreate` when `recreate`, selector), template, its metadata.
void deployment_head(YAML::Emitter& out, const std::string& name, bool recreate) {
    out << YAML::Key << "apiVersion" << YAML::Value << "apps/v1";
    out << YAML::Key << "kind" << YAML::Value << "Deployment";
    metadata(out, name);
    out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "replicas" << YAML::Value << 1;
    if (recreate) {
        out << YAML::Key << "strategy" << YAML::Value << YAML::BeginMap << YAML::Key << "type" << YAML::Value
            << "Recreate" << YAML::EndMap;
    }
    out << YAML::Key << "selector" << YAML::Value << YAML::BeginMap << YAML::Key << "matchLabels" << YAML::Value
        << YAML::BeginMap << YAML::Key << "app.kubernetes.io/name" << YAML::Value << name << YAML::EndMap
        << YAML::EndMap;
    out << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
    labels(out, name);
    out << YAML::EndMap;
    out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
}

void comment_lines(YAML::Emitter& out, const std::vector<std::string>& lines) {
    for (const auto& l : lines) out << YAML::Comment(l) << YAML::Newline;
}

void one_pod(YAML::Emitter& out, const config::Config& c, const ExportOptions& o) {
    const std::string name = "mainstay";
    // The ConfigMap: keys may not hold '/', so a service file's key is "services.d.NAME.yaml"
    // and the volume's items put it back at services.d/NAME.yaml.
    std::vector<std::pair<std::string, std::filesystem::path>> files{{"mainstay.yaml", c.main.file}};
    std::vector<std::filesystem::path> sources;
    for (const auto& s : c.services) sources.push_back(s.source);
    for (const auto& k : c.capabilities) sources.push_back(k.source);
    std::sort(sources.begin(), sources.end());
    sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
    for (const auto& src : sources) files.emplace_back("services.d." + src.filename().string(), src);

    out << YAML::Comment("mainstay export k8s: one pod, mainstay its entry point, on the configuration below.")
        << YAML::Newline;
    out << YAML::Comment("In the pod the files are under /etc/mainstay (read-only): relative paths in the main file")
        << YAML::Newline;
    out << YAML::Comment("resolve against it, so point log.file and status.* at a writable place (/run, an emptyDir).")
        << YAML::Newline;
    out << YAML::BeginMap;
    out << YAML::Key << "apiVersion" << YAML::Value << "v1";
    out << YAML::Key << "kind" << YAML::Value << "ConfigMap";
    metadata(out, name + "-config");
    out << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, path] : files) out << YAML::Key << key << YAML::Value << YAML::Literal << slurp(path);
    out << YAML::EndMap;
    out << YAML::EndMap;

    const std::string main_file = std::string(kConfigDir) + "/mainstay.yaml";
    out << YAML::BeginDoc << YAML::BeginMap;
    // One mainstay per configuration: never two at once, even during a rollout.
    deployment_head(out, name, true);
    // shutdown.timeout, and a little more for mainstay's own last steps.
    out << YAML::Key << "terminationGracePeriodSeconds" << YAML::Value
        << whole_seconds(c.main.shutdown_timeout, 1) + 10;
    out << YAML::Key << "containers" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << name;
    out << YAML::Key << "image" << YAML::Value << o.image;
    out << YAML::Key << "args" << YAML::Value;
    string_list(out, {"run", "-c", main_file, "--services-dir", std::string(kConfigDir) + "/services.d"});
    if (c.main.status.http) {
        out << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key << "name"
            << YAML::Value << "status" << YAML::Key << "containerPort" << YAML::Value << c.main.status.http->port
            << YAML::EndMap << YAML::EndSeq;
    }
    auto http_probe = [&](const char* key, const char* path) {
        out << YAML::Key << key << YAML::Value << YAML::BeginMap << YAML::Key << "httpGet" << YAML::Value
            << YAML::BeginMap << YAML::Key << "path" << YAML::Value << path << YAML::Key << "port" << YAML::Value
            << "status" << YAML::EndMap << YAML::Key << "periodSeconds" << YAML::Value << 10 << YAML::Key
            << "timeoutSeconds" << YAML::Value << 5 << YAML::EndMap;
    };
    auto exec_probe = [&](const char* key, const std::vector<std::string>& argv) {
        out << YAML::Key << key << YAML::Value << YAML::BeginMap << YAML::Key << "exec" << YAML::Value << YAML::BeginMap
            << YAML::Key << "command" << YAML::Value;
        string_list(out, argv);
        out << YAML::EndMap << YAML::Key << "periodSeconds" << YAML::Value << 10 << YAML::Key << "timeoutSeconds"
            << YAML::Value << 10 << YAML::EndMap;
    };
    const auto& http = c.main.status.http;
    const bool loopback =
        http && (http->host == "localhost" || http->host.rfind("127.", 0) == 0 || http->host == "::1");
    if (http && !loopback) {
        // Listening on the pod's address: the kubelet asks itself.
        http_probe("livenessProbe", "/healthz");
        http_probe("readinessProbe", "/readyz");
    } else if (http) {
        // On loopback, which the kubelet cannot reach: mainstay asks it from inside.
        const std::string base = "http://127.0.0.1:" + std::to_string(http->port);
        exec_probe("livenessProbe", {"mainstay", "wait", "--timeout", "5s", base + "/healthz"});
        exec_probe("readinessProbe", {"mainstay", "wait", "--timeout", "5s", base + "/readyz"});
    } else {
        // No HTTP: `mainstay status` exits 0 full, 1 degraded (both ready, as /readyz), 2
        // critical; 3 or 69 when nothing answers.
        const std::string status = "mainstay status -c " + main_file + " >/dev/null 2>&1; ";
        exec_probe("livenessProbe", {"sh", "-c", status + "[ $? -le 2 ]"});
        exec_probe("readinessProbe", {"sh", "-c", status + "[ $? -le 1 ]"});
    }
    out << YAML::Key << "volumeMounts" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key << "name"
        << YAML::Value << "config" << YAML::Key << "mountPath" << YAML::Value << kConfigDir << YAML::Key << "readOnly"
        << YAML::Value << true << YAML::EndMap << YAML::EndSeq;
    out << YAML::EndMap << YAML::EndSeq;  // the container
    out << YAML::Key << "volumes" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << "config";
    out << YAML::Key << "configMap" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << name + "-config";
    out << YAML::Key << "items" << YAML::Value << YAML::BeginSeq;
    for (const auto& [key, path] : files) {
        const std::string at = key == "mainstay.yaml" ? key : "services.d/" + path.filename().string();
        out << YAML::BeginMap << YAML::Key << "key" << YAML::Value << key << YAML::Key << "path" << YAML::Value << at
            << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap << YAML::EndMap << YAML::EndSeq;  // volumes
    out << YAML::EndMap << YAML::EndMap << YAML::EndMap << YAML::EndMap;  // spec, template, spec, object
}

void split(YAML::Emitter& out, const config::Config& c, const ExportOptions& o) {
    std::vector<const config::ServiceSpec*> services;
    for (const auto& s : c.services) services.push_back(&s);
    std::sort(services.begin(), services.end(), [](auto* a, auto* b) { return a->name < b->name; });
    out << YAML::Comment("mainstay export k8s --split: one object per service, without mainstay") << YAML::Newline;
    bool first = true;
    std::vector<std::string> unmapped;
    for (const auto* s : services) {
        if (s->kind == config::Kind::external) {
            unmapped.push_back(s->name + ": an external service is not run here" +
                               std::string(s->wake ? " (its wake command neither)" : "") + ": not mapped");
            continue;
        }
        if (!s->enabled) {
            unmapped.push_back(s->name + ": disabled: not mapped");
            continue;
        }
        std::vector<std::string> notes;
        service_notes(*s, notes);
        const std::string name = k8s_name(s->name);
        if (!first) out << YAML::BeginDoc;
        first = false;
        comment_lines(out, notes);
        out << YAML::BeginMap;
        std::vector<std::string> probe_notes;
        if (s->kind == config::Kind::oneshot) {
            out << YAML::Key << "apiVersion" << YAML::Value << "batch/v1";
            out << YAML::Key << "kind" << YAML::Value << "Job";
            metadata(out, name);
            out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
            out << YAML::Key << "backoffLimit" << YAML::Value
                << (s->recovery.max_attempts > 0 ? s->recovery.max_attempts : 6u);
            if (s->timeout > config::Duration{0}) {
                out << YAML::Key << "activeDeadlineSeconds" << YAML::Value << whole_seconds(s->timeout, 1);
            }
            out << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
            out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
            labels(out, name);
            out << YAML::EndMap;
            out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
            out << YAML::Key << "restartPolicy" << YAML::Value
                << (s->restart.policy == config::RestartPolicy::never ? "Never" : "OnFailure");
        } else {
            deployment_head(out, name, false);
        }
        out << YAML::Key << "terminationGracePeriodSeconds" << YAML::Value << whole_seconds(s->stop.timeout, 1);
        out << YAML::Key << "containers" << YAML::Value << YAML::BeginSeq;
        service_container(out, *s, o, probe_notes);
        out << YAML::EndSeq;
        out << YAML::EndMap << YAML::EndMap << YAML::EndMap << YAML::EndMap;  // spec, template, spec, object
        comment_lines(out, probe_notes);
    }
    for (const auto& k : c.capabilities) {
        unmapped.push_back(
            k.name + ": a capability needs mainstay to run it: not mapped in --split (the one-pod form keeps it)");
    }
    std::sort(unmapped.begin(), unmapped.end());
    if (!unmapped.empty()) {
        if (first) out << YAML::BeginMap << YAML::EndMap;
        comment_lines(out, unmapped);
    }
}

}  // namespace

std::string k8s_name(const std::string& name) {
    std::string out;
    for (char ch : name) {
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        out += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '-';
    }
    if (out.size() > 63) out.resize(63);
    while (!out.empty() && out.back() == '-') out.pop_back();
    while (!out.empty() && out.front() == '-') out.erase(out.begin());
    return out.empty() ? std::string("service") : out;
}

std::string export_k8s(const config::Config& config, const ExportOptions& options) {
    YAML::Emitter out;
    out.SetIndent(2);
    if (options.split)
        split(out, config, options);
    else
        one_pod(out, config, options);
    std::string text = out.c_str();
    if (!text.empty() && text.back() != '\n') text += '\n';
    return text;
}

}  // namespace mainstay::cli
