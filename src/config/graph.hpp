// The dependency graph of the services: start order in parallel waves, reverse stop order.
//
// Nodes are services (capabilities are not started, so they are not nodes); an edge runs from
// a dependent to its dependency and carries the condition and whether it is required (hard)
// or not (soft). Edges to unknown names are left out: the loader reports those.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/schema.hpp"

namespace mainstay::config {

struct Edge {
    std::size_t from;  // the dependent
    std::size_t to;    // the dependency
    Condition condition;
    bool required;
    bool restart;  // `restart: true`: the dependent restarts when the dependency does
    Mark mark;
};

struct Cycle {
    std::vector<std::string> path;  // a, b, a
    Edge closing;                   // the `depends_on` entry that closes it
};

enum class EdgeKinds { all, hard_only };

class DependencyGraph {
public:
    explicit DependencyGraph(const std::vector<ServiceSpec>& services);

    std::size_t size() const { return names_.size(); }
    const std::string& name(std::size_t i) const { return names_[i]; }
    std::optional<std::size_t> index(std::string_view name) const;
    const std::vector<Edge>& edges() const { return edges_; }
    std::vector<const Edge*> dependencies_of(std::size_t i) const;
    std::vector<const Edge*> dependents_of(std::size_t i) const;

    // Every cycle found by a depth-first walk in declaration order, each reported once.
    std::vector<Cycle> cycles() const;

    // Waves of services that can start together: wave 0 has no dependencies, wave k's
    // dependencies are all in earlier waves. Within a wave, declaration order. With
    // EdgeKinds::hard_only, soft edges do not order. Requires an acyclic graph.
    std::vector<std::vector<std::size_t>> start_waves(EdgeKinds kinds = EdgeKinds::all) const;
    // Dependents before their dependencies: the start waves reversed.
    std::vector<std::vector<std::size_t>> stop_waves(EdgeKinds kinds = EdgeKinds::all) const;

private:
    std::vector<std::string> names_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<Edge> edges_;
    std::vector<std::vector<std::size_t>> out_;  // edge indexes by `from`
    std::vector<std::vector<std::size_t>> in_;   // edge indexes by `to`
};

}  // namespace mainstay::config
