// `mainstay export k8s` on a configuration in memory: names made valid, what cannot be mapped
// said in a comment, the one-pod form's probes by where status.http listens. (The objects
// themselves are checked by a Kubernetes schema validator: tests/k8s/export_check.sh.)
#include "cli/export_k8s.hpp"

#include <doctest/doctest.h>

using namespace mainstay;
using mainstay::cli::export_k8s;
using mainstay::cli::ExportOptions;
using mainstay::cli::k8s_name;

namespace {

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

config::Config sample() {
    config::Config c;
    config::ServiceSpec web;
    web.name = "web_front.v2";
    web.command = {"web", "--port", "80"};
    web.depends_on = {{"db", config::Condition::healthy, true, {}}};
    c.services.push_back(web);
    config::ServiceSpec node;
    node.name = "node";
    node.kind = config::Kind::external;
    c.services.push_back(node);
    config::CapabilitySpec llm;
    llm.name = "llm";
    c.capabilities.push_back(llm);
    return c;
}

}  // namespace

TEST_CASE("k8s names are DNS labels") {
    CHECK(k8s_name("web") == "web");
    CHECK(k8s_name("Web_Front.v2") == "web-front-v2");
    CHECK(k8s_name("_x_") == "x");
    CHECK(k8s_name(std::string(80, 'a')).size() == 63);
}

TEST_CASE("export k8s --split: a Deployment per process, a comment for what has no equivalent, the same bytes twice") {
    ExportOptions o;
    o.split = true;
    o.image = "registry.example/app:1";
    const std::string out = export_k8s(sample(), o);
    CHECK(has(out, "kind: Deployment"));
    CHECK(has(out, "name: web-front-v2"));
    CHECK(has(out, "image: registry.example/app:1"));
    CHECK(has(out, "# depends_on db: pods start together here"));
    CHECK(has(out, "# node: an external service is not run here: not mapped"));
    CHECK(has(out, "# llm: a capability needs mainstay to run it: not mapped in --split"));
    CHECK(export_k8s(sample(), o) == out);
}

TEST_CASE("export k8s --split: readiness a service pushes has no probe there and a comment says so") {
    auto c = sample();
    c.services[0].ready.notify = true;
    c.services[0].ready.watchdog = std::chrono::seconds(30);
    ExportOptions o;
    o.split = true;
    const std::string out = export_k8s(c, o);
    CHECK(has(out, "# ready: {notify}: Kubernetes does not read sd_notify; add a readinessProbe"));
    CHECK(has(out, "# ready.watchdog: no Kubernetes equivalent; a livenessProbe is the nearest"));
    c.services[0].ready = {};
    c.services[0].depends_on[0].restart = true;
    CHECK(has(export_k8s(c, o), "# depends_on db restart: true: not mapped"));
}

TEST_CASE("export k8s, one pod: probes by where status.http listens") {
    auto c = sample();
    c.services.clear();
    c.capabilities.clear();
    c.main.status.http = config::HostPort{"0.0.0.0", 9077};
    const std::string open = export_k8s(c, {});
    CHECK(has(open, "path: /healthz"));
    CHECK(has(open, "containerPort: 9077"));
    c.main.status.http = config::HostPort{"127.0.0.1", 9077};
    const std::string loopback = export_k8s(c, {});
    CHECK(has(loopback, "http://127.0.0.1:9077/healthz"));  // mainstay wait, from inside the pod
    CHECK_FALSE(has(loopback, "httpGet"));
    c.main.status.http.reset();
    CHECK(has(export_k8s(c, {}), "mainstay status -c /etc/mainstay/mainstay.yaml"));
}
