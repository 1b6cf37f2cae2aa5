#include "cli/plan.hpp"

#include "config/graph.hpp"

namespace mainstay::cli {

using namespace mainstay::config;

std::string describe_plan(const Config& config) {
    DependencyGraph graph(config.services);
    std::string out;
    out += "services dir: " + config.main.services_dir.string() + "\n";
    out += "start order (" + std::to_string(config.services.size()) + " services; a wave starts together):\n";
    int wave_number = 0;
    for (const auto& wave : graph.start_waves()) {
        out += "  wave " + std::to_string(++wave_number) + ":\n";
        for (auto i : wave) {
            const ServiceSpec& s = config.services[i];
            out += "    " + s.name + " (" + std::string(to_string(s.kind)) + (s.critical ? ", critical" : "") +
                   (s.enabled ? "" : ", disabled") + ")";
            auto deps = graph.dependencies_of(i);
            if (!deps.empty()) {
                out += " after ";
                for (std::size_t d = 0; d < deps.size(); ++d) {
                    out += (d ? ", " : "") + graph.name(deps[d]->to) + " " + std::string(to_string(deps[d]->condition)) +
                           (deps[d]->required ? "" : " (soft)");
                }
            }
            out += "\n";
        }
    }
    out += "stop order:";
    for (const auto& wave : graph.stop_waves()) {
        out += " [";
        for (std::size_t k = 0; k < wave.size(); ++k) out += (k ? " " : "") + graph.name(wave[k]);
        out += "]";
    }
    out += "\n";
    if (!config.capabilities.empty()) {
        out += "capabilities:\n";
        for (const auto& c : config.capabilities) {
            out += "  " + c.name + (c.enabled ? "" : " (disabled)") + ": full when ready:";
            for (const auto& r : c.requires_services) out += " " + r;
            if (c.check) out += " and its check passes";
            out += "\n";
        }
    }
    return out;
}

}  // namespace mainstay::cli
