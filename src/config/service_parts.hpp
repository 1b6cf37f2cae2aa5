// The typed parts of a service or capability file, each read from its own node; the file
// reader (service_loader.cpp) puts them together. Each reports what is wrong at the file, line
// and column of the value, and leaves `out` as far as it could be read.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/map_reader.hpp"
#include "config/schema.hpp"
#include "config/tree.hpp"

namespace mainstay::config {

// `backoff: {strategy, initial, max, multiplier, step, jitter}` (also wake's and a capability's).
void read_backoff(const Node& node, resilience::BackoffParams& out, Diagnostics& diags);
// `retry: {max_attempts, timeout, backoff}` of a wake or of a capability's hooks.
void read_retry(const Node& node, resilience::RetryParams& out, Diagnostics& diags);
// A list of exit codes 0-255 under `key` of the map `r` reads.
void read_exit_codes(MapReader& r, std::string_view key, std::vector<int>& out);
// `restart: {policy, backoff, reset_after, permanent_exit_codes, circuit_breaker}`.
void read_restart(const Node& node, RestartSpec& out, Diagnostics& diags);
// `depends_on:` as a map of {condition, required, restart} or a list of names.
void read_depends_on(const Node& node, std::vector<Dependency>& out, Diagnostics& diags);
// `ready:`: one source of pushed readiness (notify, fd or log_line), `watchdog` with notify.
void read_ready(const Node& node, ReadySpec& out, Diagnostics& diags);
// `probes: {startup, readiness, liveness}`.
void read_probes(const Node& node, ProbesSpec& out, Diagnostics& diags);
// `limits: {memory, cpu, pids}`.
void read_limits(const Node& node, std::optional<LimitsSpec>& out, Diagnostics& diags);

}  // namespace mainstay::config
