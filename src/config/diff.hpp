// What a reload changes: the difference between the configuration that runs and the one just
// read (SPEC §4 "Reload"), as names to add, stop, restart or leave alone, and the main-file keys
// that apply live or need a restart of mainstay. Pure: it compares two loaded Configs.
//
// Equality is semantic. Source positions (every Mark, `source`) and the form a value was written
// in are ignored, so a file that was only reformatted, had its keys reordered or its comments
// changed, or was renamed while keeping its `name:`, leaves its service unchanged. Values are
// compared as the supervisor uses them:
//   - `command` and every argv after splitting (`"a b"` and `[a, b]` are the same);
//   - the environment as the child gets it: the variables of `env_file` then `environment`, the
//     last assignment of a name winning. The env files are read when the configuration is, so a
//     changed file's contents change the service; which file a variable comes from does not;
//   - `depends_on`, `permanent_exit_codes`, `requires` and http probe `headers` as sets (their
//     order does nothing);
//   - an http probe by what it requests (host, port, target), not by the url's spelling;
//   - `limits: {}` as no limits;
//   - `user`/`group` as written, not the ids they resolved to (those follow from them);
//   - paths after lexical normalization.
// `description` is not compared: it changes no process, so a service (or capability) whose only
// change is its description is unchanged and is not restarted; the new spec, with its new
// description and positions, may replace the old one in place. `defaults:` changes show up
// through the services whose resolved spec they change.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "config/schema.hpp"

namespace mainstay::config {

struct ConfigDiff {
    // Service and capability names: `after`'s order for added, changed and unchanged, `before`'s
    // for removed (the supervisor stops those in reverse dependency order).
    std::vector<std::string> added_services, removed_services, changed_services, unchanged_services;
    std::vector<std::string> added_capabilities, removed_capabilities, changed_capabilities, unchanged_capabilities;

    // Main-file keys that apply to the running instance.
    bool log_level_changed{false};       // log.level
    bool print_interval_changed{false};  // status.print_interval
    bool ready_when_changed{false};      // status.ready_when (read by /readyz at each request)
    bool http_changed{false};            // status.http (added, moved or removed)
    // services_dir: the reload reads the services from the new directory, so the service
    // lists above already hold its effect.
    bool services_dir_changed{false};

    // Main-file keys that changed and take effect only when mainstay is started again, as
    // their YAML paths in the order of the file's schema: "log.file", "log.max_size",
    // "log.max_files", "log.format", "status.file", "status.socket", "startup.timeout",
    // "on_critical_failure", "shutdown.timeout".
    std::vector<std::string> needs_restart;

    // Nothing to do: no service or capability added, removed or changed, no main-file change.
    bool empty() const;
    // The main-file keys that apply live and changed, as YAML paths ("log.level", ...).
    std::vector<std::string> applied() const;
};

ConfigDiff diff(const Config& before, const Config& after);

// Whether two specs of one name behave the same (see above): false means a restart.
bool same(const ServiceSpec& a, const ServiceSpec& b);
bool same(const CapabilitySpec& a, const CapabilitySpec& b);

// The definition without its source positions (every Mark emptied, its path's memory freed),
// for the copy a running service keeps: only the loader's diagnostics need them, and at a
// thousand services they are about a megabyte. same() is unchanged by it.
ServiceSpec without_positions(ServiceSpec spec);

// One line for people: "reload: 1 added (web), 1 removed (old), 1 changed (api), 3 unchanged;
// capabilities: 1 changed (local-llm); log.level applied; needs a restart: status.socket".
// An empty diff: "reload: nothing changed (3 services, 1 capability)".
std::string describe(const ConfigDiff& d);

// {"services": {"added": [...], "removed": [...], "changed": [...], "unchanged": [...]},
//  "capabilities": {the same}, "applied": ["log.level", ...], "needs_restart": ["status.socket", ...]}
nlohmann::json to_json(const ConfigDiff& d);

}  // namespace mainstay::config
