// The typed configuration: what the supervisor reads, immutable once loaded.
//
// One struct per section of SPEC §2-3. Every value is already validated and defaulted; marks
// are kept where a later stage (the runtime, a reload) may need to point at the source.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "config/boxed.hpp"
#include "config/diagnostics.hpp"
#include "config/values.hpp"
#include "resilience/params.hpp"

namespace mainstay::config {

using Path = std::filesystem::path;
using Argv = std::vector<std::string>;
using EnvVars = std::vector<std::pair<std::string, std::string>>;  // in the order given

enum class LogLevel { trace, debug, info, warn, error };
enum class LogFormat { text, json };
enum class CriticalFailure { degrade, exit };
enum class Kind { process, oneshot, external, capability };
enum class RestartPolicy { always, on_failure, never };
// What a service's exit leads to (SPEC §3 `on_exit`).
enum class ExitAction { restart, ignore, shutdown };
std::string_view to_string(ExitAction action);
enum class Condition { started, healthy, completed };

// The words of each enumeration, in the order they are listed in messages.
inline const std::vector<std::pair<std::string_view, LogLevel>> kLogLevels{{"trace", LogLevel::trace},
                                                                           {"debug", LogLevel::debug},
                                                                           {"info", LogLevel::info},
                                                                           {"warn", LogLevel::warn},
                                                                           {"error", LogLevel::error}};

std::string_view to_string(LogLevel v);
std::string_view to_string(LogFormat v);
std::string_view to_string(CriticalFailure v);
std::string_view to_string(Kind v);
std::string_view to_string(RestartPolicy v);
std::string_view to_string(Condition v);

// Where mainstay's own lines and its services' lines also go: the system log through syslog(3),
// or the systemd journal (each service's lines under its own SYSLOG_IDENTIFIER).
enum class LogForward { none, syslog, journald };

struct LogSpec {
    LogLevel level{LogLevel::info};
    LogForward forward{LogForward::none};
    std::optional<Path> file;
    std::uint64_t max_size{10 * 1024 * 1024};
    std::uint32_t max_files{5};
    LogFormat format{LogFormat::text};
};

// Where a service's output is written besides the console: `<dir of log.file>/<name>.log`;
// none without `log.file`.
std::optional<Path> service_log_file(const LogSpec& log, std::string_view service_name);

// When /readyz answers 200: in `full` and `degraded` (the default), or in `full` only.
enum class ReadyWhen { degraded, full };

struct StatusSpec {
    Path file{"/run/mainstay/status.json"};
    Path socket{"/run/mainstay/control.sock"};
    std::optional<HostPort> http;
    Duration print_interval{std::chrono::seconds(30)};
    ReadyWhen ready_when{ReadyWhen::degraded};
};

// Structs without a Mark compare with ==; those with one with config/diff.hpp's same(), which
// skips positions.
struct ExecProbe {
    Argv argv;
    bool operator==(const ExecProbe&) const = default;
};
struct TcpProbe {
    HostPort address;
    bool operator==(const TcpProbe&) const = default;
};
struct HttpProbe {
    std::string url;  // as written, for messages
    HttpUrl target;
    std::string method{"GET"};
    StatusRange status{};
    EnvVars headers;
    std::optional<Path> unix_socket;
    std::optional<std::string> body_contains;
    std::vector<int> permanent_status{};  // a status retrying cannot fix (401, 403): the service is failed
};
using ProbeHandler = std::variant<ExecProbe, TcpProbe, HttpProbe>;

struct ProbeSpec {
    ProbeHandler handler;
    Duration initial_delay{0};
    Duration interval{std::chrono::seconds(10)};
    std::optional<Duration> startup_interval;  // unset: 100ms growing to `interval`
    Duration timeout{std::chrono::seconds(1)};
    resilience::HealthParams thresholds{};
    Mark mark;
};

// What a probe tries, for its failure's reason: `http://127.0.0.1:8000/health` (with
// ` via unix:/run/docker.sock` when it goes through a socket), `tcp 127.0.0.1:6379`,
// `exec pg_isready`.
std::string describe_target(const ProbeSpec& probe);

// Each probe on the heap: a service without probes (most) pays three pointers, not 1.1 KiB.
struct ProbesSpec {
    Boxed<ProbeSpec> startup;
    Boxed<ProbeSpec> readiness;
    Boxed<ProbeSpec> liveness;
};

struct Dependency {
    std::string name;
    Condition condition{Condition::healthy};
    bool required{true};
    Mark mark;            // of the entry in `depends_on`
    bool restart{false};  // restarted whenever the dependency restarts (once per restart)
};

struct RestartSpec {
    RestartPolicy policy{RestartPolicy::always};
    resilience::BackoffParams backoff{};
    Duration reset_after{std::chrono::minutes(1)};
    std::vector<int> permanent_exit_codes;
    resilience::CircuitBreakerParams circuit_breaker{};
};

struct StopSpec {
    int signal{15};  // SIGTERM
    Duration timeout{std::chrono::seconds(10)};
    std::optional<Argv> command;

    bool operator==(const StopSpec&) const = default;
};

// `limits`: cgroup v2 memory.max, cpu.max and pids.max of the service's own cgroup.
// Where a service's stdout/stderr lines go (SPEC §3): mainstay's console as "NAME | line",
// and/or its own rotating file `<dir of log.file>/<name>.log`. Its helpers (stop, wake) follow it.
struct OutputSpec {
    bool console{true};
    bool file{true};

    bool operator==(const OutputSpec&) const = default;
};

struct LimitsSpec {
    std::optional<std::uint64_t> memory;  // bytes
    std::optional<double> cpu;            // CPUs: 1.5 = 150 ms of CPU time per 100 ms
    std::optional<std::uint32_t> pids;
    Mark mark;  // of the `limits` map

    bool any() const { return memory || cpu || pids; }
};

struct WakeSpec {
    Argv command;
    resilience::RetryParams retry{};
    std::vector<int> permanent_exit_codes{};  // a wake exiting so is not retried: the service is failed

    bool operator==(const WakeSpec&) const = default;
};

// `user:`/`group:` as ids, resolved when the configuration is read (config/credentials.hpp).
struct Credentials {
    std::optional<uid_t> uid;   // unset with only `group:`: mainstay's own
    gid_t gid{0};               // `group:`, else the user's primary group
    std::vector<gid_t> groups;  // supplementary: the user's (getgrouplist), or only `gid`
};

// `ready:`: readiness the service pushes instead of being probed (SPEC §3), one source at most.
struct ReadySpec {
    // The first output line that matches (ECMAScript syntax, searched anywhere in the line).
    std::optional<std::string> log_line{};
    // sd_notify: READY=1 on the $NOTIFY_SOCKET of its own that mainstay binds before the start.
    bool notify{false};
    // s6: a newline written on this descriptor of the service (3 or more).
    std::optional<int> fd{};
    // With notify: WATCHDOG=1 at least this often from its start, else a liveness failure.
    std::optional<Duration> watchdog{};

    bool pushed() const { return log_line || notify || fd; }
    bool operator==(const ReadySpec&) const = default;
};

struct ServiceSpec;
// Where its readiness comes from, one word: "notify", "fd", "log_line" (`ready:`), "probe" (a
// readiness probe), "ready_after" (up long enough), "exit" (a oneshot: completed).
std::string_view ready_source(const ServiceSpec& s);
// What an exit of `s` leads to: on_exit's word, else what its restart policy means.
ExitAction effective_exit_action(const ServiceSpec& s, bool success);

struct ServiceSpec {
    std::string name;
    std::string description;
    Kind kind{Kind::process};
    Argv command;  // with shell: true, one element: the script for /bin/sh -c
    bool shell{false};
    std::optional<Path> working_dir;
    std::vector<Path> env_files;
    EnvVars env_file_vars;  // read from env_files, in order
    EnvVars environment;
    std::optional<std::string> user;
    std::optional<std::string> group;
    // `user`/`group` resolved when the configuration was read; unset when neither is given or
    // a name did not resolve then (the runtime looks it up again at each start).
    std::optional<Credentials> credentials;
    bool critical{false};
    bool enabled{true};
    Duration ready_after{std::chrono::seconds(1)};
    Duration timeout{std::chrono::minutes(5)};  // oneshot: its longest run, then stopped and failed (0: none)
    std::vector<int> forward_signals{};         // SIGUSR1, SIGUSR2, SIGWINCH sent to mainstay that it also gets
    std::vector<int> success_exit_codes{};      // exits that count as a clean stop, besides 0
    ReadySpec ready{};                          // pushed readiness, instead of a readiness probe or ready_after
    // on_exit: {success, failure}; unset: from restart.policy (success: restart under `always`,
    // else ignore; failure: restart unless `never`). See effective_exit_action.
    std::optional<ExitAction> on_success{};
    std::optional<ExitAction> on_failure{};
    std::vector<Dependency> depends_on;
    ProbesSpec probes;
    RestartSpec restart;
    resilience::RecoveryParams recovery{};
    StopSpec stop;
    std::optional<LimitsSpec> limits;
    OutputSpec output;
    std::optional<WakeSpec> wake;
    Path source;  // the file it came from
    Mark name_mark;
    Mark command_mark;
    Mark working_dir_mark;
    Mark user_mark;
    Mark group_mark;
};

// One step of a capability's fallback chain (SPEC §3 `tiers`), best first: active while its
// `requires` are ready and its `check` passes, unless a better one is.
struct TierSpec {
    std::string name;
    Mark name_mark;
    std::vector<std::string> requires_services;
    std::vector<Mark> requires_marks;
    std::optional<ProbeSpec> check;
    std::optional<Argv> activate;
    std::optional<Argv> deactivate;
};

struct CapabilitySpec {
    std::string name;
    std::string description;
    bool enabled{true};
    // The plain form (no `tiers`): one tier, FULL when on it, DEGRADED when not.
    std::vector<std::string> requires_services;
    std::vector<Mark> requires_marks;
    std::optional<ProbeSpec> check;
    std::optional<Argv> activate;
    std::optional<Argv> deactivate;
    std::vector<TierSpec> tiers{};  // the tiered form, best first; empty in the plain form
    resilience::RetryParams hook_retry{3, std::chrono::seconds(30), {}};  // for activate/deactivate
    std::vector<int> permanent_exit_codes{};  // a hook exiting so is not retried (activate: held until resume)
    Duration monitor_interval{std::chrono::seconds(10)};
    Path source;
    Mark name_mark;

    // The tiers it moves between, best first: `tiers`, or the plain form as one tier named
    // kPlainTier.
    std::vector<TierSpec> chain() const;
};
inline constexpr const char* kPlainTier = "full";

struct MainConfig {
    Path file;  // the main configuration file
    Path services_dir;
    LogSpec log;
    StatusSpec status;
    Duration startup_timeout{std::chrono::seconds(60)};
    CriticalFailure on_critical_failure{CriticalFailure::degrade};
    Duration shutdown_timeout{std::chrono::seconds(30)};
};

struct Config {
    MainConfig main;
    std::vector<ServiceSpec> services;         // in file-name order
    std::vector<CapabilitySpec> capabilities;  // in file-name order

    const ServiceSpec* find_service(std::string_view name) const;
};

}  // namespace mainstay::config
