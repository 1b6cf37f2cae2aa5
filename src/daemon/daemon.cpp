#include "daemon/daemon.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "config/diff.hpp"
#include "config/values.hpp"
#include "runtime/doing.hpp"
#include "runtime/fd_limits.hpp"

namespace mainstay::daemon {

using config::LogLevel;
using runtime::Doing;

int run(config::Config config, const config::LoadOptions& reload_from) {
    bool held = false;
    std::string error;
    const std::filesystem::path lock_file = config.main.status.socket.string() + ".lock";
    auto lock = runtime::InstanceLock::acquire(lock_file, error, held);
    if (!lock) {
        std::fprintf(stderr, "mainstay: error: %s\n", error.c_str());
        return held ? 3 : 71;  // EX_OSERR: 1 is for a critical failure
    }
    // A console reader that goes away must not kill the supervisor: writes fail with EPIPE
    // instead. (Children get default dispositions back before exec.)
    ::signal(SIGPIPE, SIG_IGN);
    Daemon daemon(std::move(config), reload_from, std::move(*lock), lock_file);
    return daemon.run();
}

Daemon::Daemon(config::Config config, const config::LoadOptions& reload_from, runtime::InstanceLock lock,
               const std::filesystem::path& lock_file)
    : config_(std::move(config)),
      lock_(std::move(lock)),
      logging_(config_.main.log),
      pid1_(prepare()),
      // Before anything starts: what a killed predecessor left is ended here.
      containment_(runtime::contain(config_, lock_file, io_, logging_)),
      tails_(config_.main.log.format),
      world_(io_, logging_, tails_),
      supervisor_(config_, world_, reporter_, std::random_device{}(), &metrics_),
      publisher_(io_, config_, logging_, supervisor_, metrics_),
      api_(publisher_, supervisor_, tails_, config_.main),
      reloader_(
          io_, [from = reload_from] { return config::load(from); },
          [this](config::LoadResult result) { return apply(std::move(result)); }),
      reaper_(io_, [this](int pid, const supervisor::ExitStatus& status) {
          Doing doing("handling the exit of pid", nullptr, pid);
          world_.process_ended(pid);
          const bool known = supervisor_.on_exit(pid, status) || world_.on_exit(pid, status);
          world_.after_exit(pid);
          if (!known)
              logging_.log(LogLevel::debug, "reaped orphan " + std::to_string(pid) + " (" + status.describe() + ")");
          return known;
      }) {
    world_.contain(containment_.tree.get(), containment_.records.get(), containment_.id);
    for (const auto& name : containment_.limits_told) world_.limits_told(name);
    world_.attach(supervisor_);
    publisher_.show_output(tails_);
    // One copy of each service definition, the one its Service holds: the loaded list goes (a
    // thousand definitions are megabytes), and a reload diffs against the Services' own.
    std::vector<config::ServiceSpec>().swap(config_.services);
    runtime::release_free_memory();
    reporter_.publish_to(publisher_, [this] { release_soon(); });
    publisher_.start();
    open_control();
    open_http(config_.main.status.http);
    api_.reload_with([this](serve::ControlApi::ReloadAnswer answer) { reloader_.request(std::move(answer)); });
    world_.reload_with([this] {
        if (reloader_.reading()) logging_.log(LogLevel::info, "reload: a read is under way: one more read follows it");
        reloader_.request(nullptr);
    });
    // The supervisor decides what each signal means (supervisor.hpp); here they are only caught.
    for (int sig : supervisor::Supervisor::handled_signals()) signals_.add(sig);
    watch_signals();
}

bool Daemon::prepare() {
    logging_.log(LogLevel::info, runtime::raise_nofile_limit());
    const auto with_process = static_cast<std::size_t>(
        std::count_if(config_.services.begin(), config_.services.end(), [](const config::ServiceSpec& s) {
            return s.kind == config::Kind::process || s.kind == config::Kind::oneshot;
        }));
    if (std::string shortfall = runtime::descriptor_shortfall(with_process); !shortfall.empty()) {
        logging_.log(LogLevel::warn, shortfall);
    }
    const bool pid1 = ::getpid() == 1;
    if (!pid1 && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        logging_.log(LogLevel::warn, std::string("cannot become a subreaper (") + std::strerror(errno) +
                                         "): orphaned grandchildren go to init, not to mainstay");
    }
    return pid1;
}

void Daemon::open_control() {
    std::string error;
    control_ = serve::ControlServer::open(
        io_, config_.main.status.socket,
        [this](const nlohmann::json& request, std::shared_ptr<serve::ControlSession> session) {
            Doing doing("answering a control request");
            api_.handle(request, session);
        },
        error);
    if (!control_) {
        logging_.log(LogLevel::error, "control socket: " + error +
                                          " (mainstay status, why, events, start and stop cannot reach this instance)");
    }
}

void Daemon::open_http(const std::optional<config::HostPort>& at) {
    if (http_) http_->close();
    http_.reset();
    if (!at) return;
    std::string error;
    http_ = serve::HttpServer::open(
        io_, at->host, static_cast<std::uint16_t>(at->port),
        [this](const serve::HttpRequest& request) {
            Doing doing("answering an HTTP request");
            return api_.http(request);
        },
        error);
    if (http_) {
        logging_.log(LogLevel::info, "status over HTTP on " + at->host + ":" + std::to_string(http_->port()) +
                                         " (/healthz /readyz /status /events /metrics /analyze)");
    } else {
        logging_.log(LogLevel::error, "status.http: " + error + " (no HTTP status; supervision goes on)");
    }
}

nlohmann::json Daemon::apply(config::LoadResult result) {
    Doing doing("applying the reloaded configuration");
    if (supervisor_.shutting_down()) {
        logging_.log(LogLevel::info, "reload: mainstay is shutting down: the configuration read is not applied");
        return {{"ok", false}, {"error", "mainstay is shutting down: the configuration read was not applied"}};
    }
    if (!result.config) {
        nlohmann::json diagnostics = nlohmann::json::array();
        for (const auto& d : result.diagnostics.sorted()) {
            if (d.severity != config::Severity::error) continue;
            diagnostics.push_back(config::format(d));
            logging_.log(LogLevel::error, "reload: " + config::format(d));
        }
        logging_.log(LogLevel::error, "reload: the configuration is invalid: nothing changed");
        return {{"ok", false}, {"error", "invalid configuration: nothing changed"}, {"diagnostics", diagnostics}};
    }
    // The services are listed into the running configuration for the diff only.
    config_.services.reserve(supervisor_.services().size());
    for (const auto& s : supervisor_.services()) config_.services.push_back(s->spec());
    const config::ConfigDiff d = config::diff(config_, *result.config);
    std::vector<config::ServiceSpec>().swap(config_.services);
    if (std::string refused = supervisor_.apply(*result.config, d); !refused.empty()) {
        logging_.log(LogLevel::warn, "reload refused: " + refused);
        return {{"ok", false}, {"error", refused}};
    }
    const config::MainConfig& main = result.config->main;
    if (d.log_level_changed) logging_.set_level(main.log.level);
    if (d.print_interval_changed) publisher_.set_print_interval(main.status.print_interval);
    if (d.http_changed) open_http(main.status.http);
    const std::string summary = config::describe(d);
    logging_.log(d.needs_restart.empty() ? LogLevel::info : LogLevel::warn, summary);
    config_.main = std::move(result.config->main);
    config_.capabilities = std::move(result.config->capabilities);
    result = {};
    release_soon();
    return {{"ok", true}, {"diff", config::to_json(d)}, {"summary", summary}};
}

void Daemon::watch_signals() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        watch_signals();
        Doing doing("handling signal", nullptr, sig);
        supervisor_.on_signal(sig);
        maybe_finish();
    });
}

void Daemon::release_soon() {
    trim_timer_.expires_after(std::chrono::seconds(1));
    trim_timer_.async_wait([](const boost::system::error_code& ec) {
        if (!ec) runtime::release_free_memory();
    });
}

void Daemon::maybe_finish() {
    if (!world_.complete() || finishing_) return;
    finishing_ = true;
    finish_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    logging_.log(LogLevel::info, "all services stopped");
    check_finished();
}

void Daemon::check_finished() {
    runtime::kill_our_children();
    reaper_.reap_now();
    const bool children = runtime::have_children();
    const bool released = world_.release();  // what remains in the cgroups is killed
    if ((!children && released && world_.open_captures() == 0) ||
        std::chrono::steady_clock::now() >= finish_deadline_) {
        if (children || !released)
            logging_.log(LogLevel::error, "processes still alive after SIGKILL (uninterruptible?)");
        io_.stop();
        return;
    }
    finish_timer_.expires_after(std::chrono::milliseconds(10));
    finish_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) check_finished();
    });
}

template <class Step>
void Daemon::contained(Step&& step) {
    try {
        step();
    } catch (const std::exception& e) {
        logging_.log(LogLevel::error,
                     "internal error while " + Doing::take() + ": " + e.what() + " (supervision goes on)");
    }
}

int Daemon::run() {
    const std::size_t count = supervisor_.services().size();
    logging_.log(LogLevel::info, "mainstay starting " + std::to_string(count) +
                                     (count == 1 ? " service" : " services") + " (pid " + std::to_string(::getpid()) +
                                     (pid1_ ? ", PID 1)" : ", subreaper)"));
    contained([&] {
        Doing doing("starting the services");
        supervisor_.start();
    });
    contained([&] { reaper_.reap_now(); });
    contained([&] { maybe_finish(); });  // an early critical exit may have nothing left to wait for

    // Each event may complete the shutdown: look after every handler.
    bool idle = false;
    while (!io_.stopped() && !idle) {
        contained([&] {
            idle = io_.run_one() == 0;
            maybe_finish();
        });
    }
    world_.release();
    if (http_) http_->close();
    if (control_) control_->close();
    publisher_.stop();  // the last status document: stopping
    logging_.log(LogLevel::info, "mainstay stopped");
    return supervisor_.exit_code();
}

}  // namespace mainstay::daemon
