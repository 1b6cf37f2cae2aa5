// `mainstay export k8s [--split] [--image IMAGE]` (SPEC §7): Kubernetes manifests for a
// configuration, as YAML documents on stdout (for `kubectl apply -f -`).
//
// The default, one pod: a ConfigMap with the main file and every service file, and a
// Deployment of one replica whose one container runs `mainstay run` on them (mainstay is the
// pod's entry point, so dependencies, degraded mode, capabilities and recovery work as on one
// machine). Its liveness probe is /healthz when `status.http` is set, else `mainstay wait` on
// the control socket; its readiness probe /readyz, else `mainstay status` (exit 0 full, 1
// degraded: both ready, as /readyz by default).
//
// --split: one object per service instead: a Deployment for a `process` service (its command,
// environment, working directory, probes and limits), a Job for a `oneshot`. What Kubernetes
// has no word for is said in a comment beside the object: dependencies (pods start together),
// capabilities, external services and their wake, restart policies and backoff, the safety
// valve, `limits.pids`, `user`/`group`, output settings.
//
// Names follow Kubernetes' rules (DNS labels: lower case, digits and '-', at most 63): '_' and
// '.' become '-'. The output is deterministic: the same configuration gives the same bytes.
#pragma once

#include <string>

#include "config/schema.hpp"

namespace mainstay::cli {

struct ExportOptions {
    bool split{false};
    std::string image{"mainstay:latest"};
};

// The manifests. `files`: the main file's and the service files' text, by path (the ConfigMap
// of the one-pod form holds them as they are).
std::string export_k8s(const config::Config& config, const ExportOptions& options);

// A DNS label from a service name: "my_db.primary" -> "my-db-primary".
std::string k8s_name(const std::string& name);

}  // namespace mainstay::cli
