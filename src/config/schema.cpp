#include "config/schema.hpp"

namespace mainstay::config {

std::string_view to_string(LogLevel v) {
    switch (v) {
        case LogLevel::trace:
            return "trace";
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
    }
    return "?";
}

std::string_view to_string(LogFormat v) {
    return v == LogFormat::text ? "text" : "json";
}

std::string_view to_string(CriticalFailure v) {
    return v == CriticalFailure::degrade ? "degrade" : "exit";
}

std::string_view to_string(Kind v) {
    switch (v) {
        case Kind::process:
            return "process";
        case Kind::oneshot:
            return "oneshot";
        case Kind::external:
            return "external";
        case Kind::capability:
            return "capability";
    }
    return "?";
}

std::string_view to_string(RestartPolicy v) {
    switch (v) {
        case RestartPolicy::always:
            return "always";
        case RestartPolicy::on_failure:
            return "on-failure";
        case RestartPolicy::never:
            return "never";
    }
    return "?";
}

std::string_view to_string(Condition v) {
    switch (v) {
        case Condition::started:
            return "started";
        case Condition::healthy:
            return "healthy";
        case Condition::completed:
            return "completed";
    }
    return "?";
}

std::optional<Path> service_log_file(const LogSpec& log, std::string_view service_name) {
    if (!log.file) return std::nullopt;
    return log.file->parent_path() / (std::string(service_name) + ".log");
}

std::string describe_target(const ProbeSpec& probe) {
    if (const auto* http = std::get_if<HttpProbe>(&probe.handler)) {
        return http->url + (http->unix_socket ? " via unix:" + http->unix_socket->string() : "");
    }
    if (const auto* tcp = std::get_if<TcpProbe>(&probe.handler)) {
        const std::string& host = tcp->address.host;
        const bool v6 = host.find(':') != std::string::npos;
        return "tcp " + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(tcp->address.port);
    }
    const auto& argv = std::get<ExecProbe>(probe.handler).argv;
    return "exec " + (argv.empty() ? std::string() : argv.front());
}

std::string_view to_string(ExitAction v) {
    switch (v) {
        case ExitAction::restart:
            return "restart";
        case ExitAction::ignore:
            return "ignore";
        case ExitAction::shutdown:
            return "shutdown";
    }
    return "?";
}

ExitAction effective_exit_action(const ServiceSpec& s, bool success) {
    if (success && s.on_success) return *s.on_success;
    if (!success && s.on_failure) return *s.on_failure;
    if (success) return s.restart.policy == RestartPolicy::always ? ExitAction::restart : ExitAction::ignore;
    return s.restart.policy == RestartPolicy::never ? ExitAction::ignore : ExitAction::restart;
}

std::string_view ready_source(const ServiceSpec& s) {
    if (s.kind == Kind::oneshot) return "exit";
    if (s.ready.notify) return "notify";
    if (s.ready.fd) return "fd";
    if (s.ready.log_line) return "log_line";
    if (s.probes.readiness || s.kind == Kind::external) return "probe";
    return "ready_after";
}

std::vector<TierSpec> CapabilitySpec::chain() const {
    if (!tiers.empty()) return tiers;
    return {TierSpec{kPlainTier, name_mark, requires_services, requires_marks, check, activate, deactivate}};
}

}  // namespace mainstay::config
