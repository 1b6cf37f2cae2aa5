#include "config/graph.hpp"

#include <doctest/doctest.h>

using namespace mainstay::config;

namespace {

ServiceSpec svc(std::string name, std::vector<std::pair<std::string, bool>> deps = {}) {
    ServiceSpec s;
    s.name = std::move(name);
    for (auto& [dep, required] : deps) s.depends_on.push_back({dep, Condition::healthy, required, {}});
    return s;
}

using Waves = std::vector<std::vector<std::string>>;

Waves names(const DependencyGraph& g, const std::vector<std::vector<std::size_t>>& waves) {
    Waves out;
    for (const auto& w : waves) {
        out.emplace_back();
        for (auto i : w) out.back().push_back(g.name(i));
    }
    return out;
}

}  // namespace

TEST_CASE("a diamond starts in three waves and stops in the reverse order") {
    DependencyGraph g(
        {svc("d", {{"b", true}, {"c", true}}), svc("b", {{"a", true}}), svc("c", {{"a", true}}), svc("a")});
    CHECK(names(g, g.start_waves()) == Waves{{"a"}, {"b", "c"}, {"d"}});
    CHECK(names(g, g.stop_waves()) == Waves{{"d"}, {"b", "c"}, {"a"}});
    CHECK(g.cycles().empty());
    auto a = *g.index("a");
    CHECK(g.dependents_of(a).size() == 2);
    CHECK(g.dependencies_of(*g.index("d")).size() == 2);
    CHECK(g.dependencies_of(a).empty());
}

TEST_CASE("disconnected parts start side by side in declaration order") {
    DependencyGraph g({svc("x"), svc("y", {{"x", true}}), svc("p"), svc("q", {{"p", true}}), svc("lonely")});
    CHECK(names(g, g.start_waves()) == Waves{{"x", "p", "lonely"}, {"y", "q"}});
}

TEST_CASE("a wave waits for the latest of its dependencies") {
    DependencyGraph g(
        {svc("a"), svc("b", {{"a", true}}), svc("c", {{"b", true}}), svc("z", {{"a", true}, {"c", true}})});
    CHECK(names(g, g.start_waves()) == Waves{{"a"}, {"b"}, {"c"}, {"z"}});
}

TEST_CASE("soft edges order the start but not when only hard edges count") {
    DependencyGraph g({svc("docker"), svc("app", {{"docker", false}}), svc("worker", {{"app", true}})});
    CHECK(names(g, g.start_waves()) == Waves{{"docker"}, {"app"}, {"worker"}});
    CHECK(names(g, g.start_waves(EdgeKinds::hard_only)) == Waves{{"docker", "app"}, {"worker"}});
    const auto& edges = g.edges();
    REQUIRE(edges.size() == 2);
    CHECK_FALSE(edges[0].required);
    CHECK(edges[1].required);
    CHECK(g.name(edges[0].from) == "app");
    CHECK(g.name(edges[0].to) == "docker");
}

TEST_CASE("unknown names are left out of the graph") {
    DependencyGraph g({svc("a", {{"ghost", true}})});
    CHECK(g.edges().empty());
    CHECK(names(g, g.start_waves()) == Waves{{"a"}});
}

TEST_CASE("a cycle is reported once with its path, at the edge that closes it") {
    auto a = svc("a", {{"b", true}});
    auto b = svc("b", {{"a", true}});
    b.depends_on[0].mark = {"b.yaml", 3, 5};
    DependencyGraph g({a, b, svc("c", {{"a", true}})});
    auto cycles = g.cycles();
    REQUIRE(cycles.size() == 1);
    CHECK(cycles[0].path == std::vector<std::string>{"a", "b", "a"});
    CHECK(cycles[0].closing.mark.file == "b.yaml");
    CHECK(cycles[0].closing.mark.line == 3);
}

TEST_CASE("self-loops and separate cycles are all found") {
    DependencyGraph g(
        {svc("s", {{"s", true}}), svc("x", {{"y", false}}), svc("y", {{"z", true}}), svc("z", {{"x", true}})});
    auto cycles = g.cycles();
    REQUIRE(cycles.size() == 2);
    CHECK(cycles[0].path == std::vector<std::string>{"s", "s"});
    CHECK(cycles[1].path == std::vector<std::string>{"x", "y", "z", "x"});
}

TEST_CASE("a very long chain is walked without recursion") {
    std::vector<ServiceSpec> chain;
    const int n = 20000;
    for (int i = 0; i < n; ++i)
        chain.push_back(i == 0 ? svc("s0") : svc("s" + std::to_string(i), {{"s" + std::to_string(i - 1), true}}));
    chain[0].depends_on.push_back({"s" + std::to_string(n - 1), Condition::healthy, true, {}});
    DependencyGraph g(chain);
    auto cycles = g.cycles();
    REQUIRE(cycles.size() == 1);
    CHECK(cycles[0].path.size() == static_cast<std::size_t>(n + 1));
    chain[0].depends_on.clear();
    CHECK(DependencyGraph(chain).start_waves().size() == static_cast<std::size_t>(n));
}
