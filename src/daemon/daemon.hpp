// `mainstay run`: the composition root.
//
// A Daemon owns every part of the running instance as a member, made in the order they are
// declared (each from the ones above it) and unmade in reverse: the instance lock, the log, the
// event loop, where children are kept, the World, where reports go, the Supervisor, what is published and what
// answers (control socket, HTTP), the reloader, the reaper and the signals. It wires them, runs
// the one event loop until everything has stopped, and says how mainstay ends. Nothing here
// decides anything about a service: that is the Supervisor's.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "config/loader.hpp"
#include "config/schema.hpp"
#include "report/metrics.hpp"
#include "runtime/containment.hpp"
#include "runtime/instance_lock.hpp"
#include "runtime/logging.hpp"
#include "runtime/output_tail.hpp"
#include "runtime/real_world.hpp"
#include "runtime/reaper.hpp"
#include "runtime/reloader.hpp"
#include "serve/control_api.hpp"
#include "serve/control_server.hpp"
#include "serve/http_server.hpp"
#include "serve/publisher.hpp"
#include "serve/reporter.hpp"
#include "supervisor/supervisor.hpp"

namespace mainstay::daemon {

// Supervises `config` until SIGTERM/SIGINT (or a service whose on_exit is `shutdown`), then
// stops everything in order. Exit codes: 0 after a clean shutdown, a `shutdown` service's own
// code, 1 for a critical failure, 3 when another instance holds the lock, 71 when the lock
// cannot be taken at all. `reload_from` is how `config` was loaded: a reload (SIGHUP, `mainstay
// reload`) loads again with it. `config` is taken: once each service holds its definition, the
// loaded list is freed.
int run(config::Config config, const config::LoadOptions& reload_from);

class Daemon {
public:
    Daemon(config::Config config, const config::LoadOptions& reload_from, runtime::InstanceLock lock,
           const std::filesystem::path& lock_file);
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Starts the services and runs the loop until everything has stopped; the exit code.
    int run();

private:
    // Says what the process needs before anything starts (descriptors, subreaper); true as PID 1.
    bool prepare();
    // The control socket and the HTTP endpoint: one that cannot open is reported, and
    // supervision goes on without it.
    void open_control();
    void open_http(const std::optional<config::HostPort>& at);
    // A configuration read again (off the loop): the difference applied, or why not; the answer
    // for `mainstay reload`.
    nlohmann::json apply(config::LoadResult result);
    void watch_signals();
    // After the last service stopped: kill what escaped, wait for it and for the last output,
    // then end the loop (3 s at most).
    void maybe_finish();
    void check_finished();
    // What the startup (or a reload) allocated and let go, once the output writer has written
    // its burst of lines: a second later.
    void release_soon();
    // The one exception boundary: whatever a handler throws is logged with what was being
    // done, and supervision goes on.
    template <class Step>
    void contained(Step&& step);

    // From here on `config_` is what runs now, for the next reload's diff: the main file and the
    // capabilities; the services are the supervisor's (their definitions, held once).
    config::Config config_;
    runtime::InstanceLock lock_;
    runtime::Logging logging_;
    bool pid1_;
    boost::asio::io_context io_{1};
    runtime::Containment containment_;
    runtime::OutputTails tails_;  // each service's last lines: `mainstay logs`, exit reasons
    runtime::RealWorld world_;
    serve::Reporter reporter_{logging_, world_};  // what the supervisor reports goes here
    report::MetricsCounters metrics_;             // fed by the resilience machines' events
    supervisor::Supervisor supervisor_;
    serve::Publisher publisher_;
    boost::asio::steady_timer trim_timer_{io_};
    serve::ControlApi api_;
    std::unique_ptr<serve::ControlServer> control_;
    std::unique_ptr<serve::HttpServer> http_;
    runtime::Reloader reloader_;
    runtime::Reaper reaper_;
    boost::asio::steady_timer finish_timer_{io_};
    std::chrono::steady_clock::time_point finish_deadline_{};
    bool finishing_{false};
    boost::asio::signal_set signals_{io_};
};

}  // namespace mainstay::daemon
