#include "config/graph.hpp"

#include <algorithm>

namespace mainstay::config {

DependencyGraph::DependencyGraph(const std::vector<ServiceSpec>& services) {
    for (const auto& s : services) {
        index_.emplace(s.name, names_.size());
        names_.push_back(s.name);
    }
    out_.resize(names_.size());
    in_.resize(names_.size());
    for (std::size_t from = 0; from < services.size(); ++from) {
        for (const auto& dep : services[from].depends_on) {
            auto to = index(dep.name);
            if (!to) continue;
            out_[from].push_back(edges_.size());
            in_[*to].push_back(edges_.size());
            edges_.push_back({from, *to, dep.condition, dep.required, dep.restart, dep.mark});
        }
    }
}

std::optional<std::size_t> DependencyGraph::index(std::string_view name) const {
    auto it = index_.find(std::string(name));
    if (it == index_.end()) return std::nullopt;
    return it->second;
}

std::vector<const Edge*> DependencyGraph::dependencies_of(std::size_t i) const {
    std::vector<const Edge*> out;
    for (auto e : out_[i]) out.push_back(&edges_[e]);
    return out;
}

std::vector<const Edge*> DependencyGraph::dependents_of(std::size_t i) const {
    std::vector<const Edge*> out;
    for (auto e : in_[i]) out.push_back(&edges_[e]);
    return out;
}

std::vector<Cycle> DependencyGraph::cycles() const {
    enum class Color { white, grey, black };
    std::vector<Color> color(size(), Color::white);
    std::vector<Cycle> found;
    struct Frame {
        std::size_t node;
        std::size_t next_edge;
    };
    for (std::size_t root = 0; root < size(); ++root) {
        if (color[root] != Color::white) continue;
        // Iterative, so that a long chain cannot exhaust the stack.
        std::vector<Frame> stack{{root, 0}};
        color[root] = Color::grey;
        while (!stack.empty()) {
            Frame& top = stack.back();
            if (top.next_edge == out_[top.node].size()) {
                color[top.node] = Color::black;
                stack.pop_back();
                continue;
            }
            const Edge& e = edges_[out_[top.node][top.next_edge++]];
            if (color[e.to] == Color::white) {
                color[e.to] = Color::grey;
                stack.push_back({e.to, 0});
            } else if (color[e.to] == Color::grey) {
                Cycle c{{}, e};
                auto start = std::find_if(stack.begin(), stack.end(), [&](const Frame& f) { return f.node == e.to; });
                for (auto it = start; it != stack.end(); ++it) c.path.push_back(names_[it->node]);
                c.path.push_back(names_[e.to]);
                found.push_back(std::move(c));
            }
        }
    }
    return found;
}

std::vector<std::vector<std::size_t>> DependencyGraph::start_waves(EdgeKinds kinds) const {
    // Kahn's algorithm by levels: a node's wave is one past its latest dependency's.
    std::vector<std::size_t> pending(size(), 0);
    auto counts = [&](const Edge& e) { return kinds == EdgeKinds::all || e.required; };
    for (const auto& e : edges_) {
        if (counts(e)) ++pending[e.from];
    }
    std::vector<std::vector<std::size_t>> waves;
    std::vector<std::size_t> current;
    for (std::size_t i = 0; i < size(); ++i) {
        if (pending[i] == 0) current.push_back(i);
    }
    while (!current.empty()) {
        std::vector<std::size_t> next;
        for (auto node : current) {
            for (auto ei : in_[node]) {
                const Edge& e = edges_[ei];
                if (counts(e) && --pending[e.from] == 0) next.push_back(e.from);
            }
        }
        std::sort(next.begin(), next.end());
        waves.push_back(std::move(current));
        current = std::move(next);
    }
    return waves;
}

std::vector<std::vector<std::size_t>> DependencyGraph::stop_waves(EdgeKinds kinds) const {
    auto waves = start_waves(kinds);
    std::reverse(waves.begin(), waves.end());
    return waves;
}

}  // namespace mainstay::config
