#include "runtime/run.hpp"

#include <dirent.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string_view>

#include "config/diff.hpp"
#include "config/loader.hpp"
#include "config/values.hpp"
#include "report/control_server.hpp"
#include "report/http_server.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/control_api.hpp"
#include "runtime/doing.hpp"
#include "runtime/fd_limits.hpp"
#include "runtime/group_records.hpp"
#include "runtime/instance_lock.hpp"
#include "runtime/leftovers.hpp"
#include "runtime/logging.hpp"
#include "runtime/proc.hpp"
#include "runtime/publisher.hpp"
#include "runtime/real_world.hpp"
#include "runtime/reloader.hpp"
#include "runtime/reaper.hpp"
#include "supervisor/supervisor.hpp"

namespace mainstay::runtime {
namespace {

// Every process whose parent is mainstay: after shutdown these are orphans that escaped their
// service's process group (a daemon that called setsid), reparented to us as PID 1 or subreaper.
void kill_our_children() {
    const pid_t self = ::getpid();
    for (int pid : proc::all_pids()) {
        auto st = proc::stat(pid);
        if (st && st->ppid == self && pid > 1) ::kill(pid, SIGKILL);
    }
}

// Runs `io` until `done()` holds or `limit` passes, looking every 10 ms (on a timer: nothing
// here sleeps). Used before anything is started.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit) {
    if (done()) return true;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    boost::asio::steady_timer timer(io);
    bool result = false;
    std::function<void()> look = [&] {
        timer.expires_after(std::chrono::milliseconds(10));
        timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            if ((result = done()) || std::chrono::steady_clock::now() >= deadline) return;
            look();
        });
    };
    look();
    io.run();
    io.restart();
    return result;
}

// Where this instance keeps its children: a cgroup subtree when cgroup v2 is usable (and not
// refused with MAINSTAY_NO_CGROUP=1), else records of their groups. Ends what a predecessor left
// first. Says, once per service that sets `limits`, when they cannot be applied.
struct Containment {
    std::unique_ptr<CgroupTree> tree;
    std::unique_ptr<GroupRecords> records;
    std::string id;
    std::vector<std::string> limits_told;  // services whose limits were said not to apply, once
};

Containment contain(const config::Config& config, const std::filesystem::path& lock_file, boost::asio::io_context& io,
                    Logging& logging) {
    Containment c;
    c.id = instance_id(lock_file);
    std::string why;
    std::optional<cgroup::Self> self;
    const char* refuse = std::getenv("MAINSTAY_NO_CGROUP");
    if (refuse != nullptr && *refuse != '\0' && std::string_view(refuse) != "0") {
        why = "MAINSTAY_NO_CGROUP is set";
    } else {
        self = cgroup::find_self(why);
    }
    std::filesystem::path records_dir = lock_file;
    records_dir.replace_extension(".groups");

    Leftovers leftovers(self, records_dir, c.id);
    if (leftovers.count() != 0) {
        logging.log(config::LogLevel::warn, leftovers.summary());
        if (!run_until(io, [&] { return leftovers.gone(); }, std::chrono::seconds(5))) {
            logging.log(config::LogLevel::error, "processes left by a previous instance are still there 5s after SIGKILL");
        }
    } else {
        leftovers.gone();  // removes stale records and empty cgroups
    }

    if (self) c.tree = CgroupTree::create(*self, c.id, why);
    std::vector<std::string> wanted;
    for (const auto& s : config.services) {
        if (!s.limits) continue;
        for (const auto& w : cgroup::controllers_for(*s.limits)) {
            if (std::find(wanted.begin(), wanted.end(), w) == wanted.end()) wanted.push_back(w);
        }
    }
    std::vector<std::string> enabled;
    if (c.tree && !wanted.empty()) enabled = c.tree->enable(wanted, why);
    for (const auto& s : config.services) {
        if (!s.limits || !s.limits->any()) continue;
        std::string missing;
        for (const auto& w : cgroup::controllers_for(*s.limits)) {
            if (std::find(enabled.begin(), enabled.end(), w) == enabled.end()) missing += (missing.empty() ? "" : ", ") + w;
        }
        if (missing.empty()) continue;
        logging.log(config::LogLevel::warn, s.name + ": limits (" + missing + ") not applied: " + why);
        c.limits_told.push_back(s.name);
    }
    if (c.tree) {
        logging.log(config::LogLevel::debug, "services run in cgroups under " + c.tree->dir().string());
    } else {
        logging.log(config::LogLevel::info, "no cgroup for services (" + why + "): their process groups are recorded in " +
                                                records_dir.string());
        c.records = std::make_unique<GroupRecords>(records_dir);
        std::string error;
        if (!c.records->open(error)) logging.log(config::LogLevel::warn, error);
    }
    return c;
}

bool have_children() {
    siginfo_t info{};
    return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

// Gives the heap pages freed since (a configuration's parse trees, copies made while building)
// back to the system: glibc keeps them otherwise, and they would count in mainstay's RSS for
// as long as it runs.
void release_free_memory() { ::malloc_trim(0); }

extern "C" void exit_now(int sig) {
    static const char message[] = "mainstay: stop signal received while loading the configuration: exiting\n";
    ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
    ::_exit(sig == SIGTERM || sig == SIGINT || sig == SIGQUIT ? 0 : 1);
}

}  // namespace

void exit_on_stop_signals() {
    struct sigaction action {};
    action.sa_handler = exit_now;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGQUIT}) ::sigaction(sig, &action, nullptr);
}

int run(config::Config config, const config::LoadOptions& reload_from) {
    bool held = false;
    std::string error;
    const std::filesystem::path lock_file = config.main.status.socket.string() + ".lock";
    auto lock = InstanceLock::acquire(lock_file, error, held);
    if (!lock) {
        std::fprintf(stderr, "mainstay: error: %s\n", error.c_str());
        return held ? 3 : 71;  // EX_OSERR: 1 is SPEC's for a critical failure
    }
    // A console reader that goes away must not kill the supervisor: writes fail with EPIPE
    // instead. (Children get default dispositions back before exec.)
    ::signal(SIGPIPE, SIG_IGN);
    Logging logging(config.main.log);
    logging.log(config::LogLevel::info, raise_nofile_limit());
    const auto with_process = static_cast<std::size_t>(std::count_if(
        config.services.begin(), config.services.end(),
        [](const config::ServiceSpec& s) { return s.kind == config::Kind::process || s.kind == config::Kind::oneshot; }));
    if (std::string shortfall = descriptor_shortfall(with_process); !shortfall.empty()) {
        logging.log(config::LogLevel::warn, shortfall);
    }
    const bool pid1 = ::getpid() == 1;
    if (!pid1 && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        logging.log(config::LogLevel::warn, std::string("cannot become a subreaper (") + std::strerror(errno) +
                                                "): orphaned grandchildren go to init, not to mainstay");
    }

    boost::asio::io_context io(1);
    // Before anything starts: what a killed predecessor left is ended here.
    Containment containment = contain(config, lock_file, io, logging);
    OutputTails tails(config.main.log.format);  // each service's last lines: `mainstay logs`, exit reasons
    RealWorld world(io, logging, tails);
    world.contain(containment.tree.get(), containment.records.get(), containment.id);
    for (const auto& name : containment.limits_told) world.limits_told(name);
    report::MetricsCounters metrics;  // fed by the resilience machines' events
    supervisor::Supervisor supervisor(config, world, std::random_device{}(), &metrics);
    world.attach(supervisor);
    Publisher publisher(io, config, logging, supervisor, metrics);
    publisher.show_output(tails);
    // One copy of each service definition, the one its Service holds: the loaded list goes (a
    // thousand definitions are megabytes), and a reload diffs against the Services' own.
    std::vector<config::ServiceSpec>().swap(config.services);
    release_free_memory();
    // What the startup (or a reload) allocated and let go, once the output writer has written
    // its burst of lines: a second later.
    boost::asio::steady_timer trim_timer(io);
    auto release_soon = [&] {
        trim_timer.expires_after(std::chrono::seconds(1));
        trim_timer.async_wait([](const boost::system::error_code& ec) {
            if (!ec) release_free_memory();
        });
    };
    world.report_to([&](const supervisor::Transition& t) { publisher.transition(t); },
                    [&] {
                        publisher.ready();
                        release_soon();
                    });
    publisher.start();

    // The control socket and the HTTP endpoint; one that cannot start is reported, and
    // supervision goes on without it.
    ControlApi api(publisher, supervisor, tails, config.main);
    std::string serve_error;
    auto control = report::ControlServer::open(
        io, config.main.status.socket,
        [&](const nlohmann::json& request, std::shared_ptr<report::ControlSession> session) {
            Doing doing("answering a control request");
            api.handle(request, session);
        },
        serve_error);
    if (!control) {
        logging.log(config::LogLevel::error, "control socket: " + serve_error +
                                                 " (mainstay status, why, events, start and stop cannot reach this instance)");
    }
    std::unique_ptr<report::HttpServer> http;
    auto open_http = [&](const std::optional<config::HostPort>& at) {
        if (http) http->close();
        http.reset();
        if (!at) return;
        http = report::HttpServer::open(
            io, at->host, static_cast<std::uint16_t>(at->port),
            [&](const report::HttpRequest& request) {
                Doing doing("answering an HTTP request");
                return api.http(request);
            },
            serve_error);
        if (http) {
            logging.log(config::LogLevel::info, "status over HTTP on " + at->host + ":" + std::to_string(http->port()) +
                                                    " (/healthz /readyz /status /events /metrics /analyze)");
        } else {
            logging.log(config::LogLevel::error, "status.http: " + serve_error + " (no HTTP status; supervision goes on)");
        }
    };
    open_http(config.main.status.http);

    // Reload (SIGHUP, `mainstay reload`): the files read again; an invalid one changes nothing.
    // From here on `config` is what runs now, for the next reload's diff: the main file and the
    // capabilities; the services are the supervisor's (their definitions, held once), listed
    // into it for the diff only.
    // The files are read off the loop (reloader.hpp); only the difference is applied here.
    Reloader reloader(io, [from = reload_from] { return config::load(from); }, [&](config::LoadResult result) -> nlohmann::json {
        Doing doing("applying the reloaded configuration");
        if (supervisor.shutting_down()) {
            logging.log(config::LogLevel::info, "reload: mainstay is shutting down: the configuration read is not applied");
            return {{"ok", false}, {"error", "mainstay is shutting down: the configuration read was not applied"}};
        }
        if (!result.config) {
            nlohmann::json diagnostics = nlohmann::json::array();
            for (const auto& d : result.diagnostics.sorted()) {
                if (d.severity != config::Severity::error) continue;
                diagnostics.push_back(config::format(d));
                logging.log(config::LogLevel::error, "reload: " + config::format(d));
            }
            logging.log(config::LogLevel::error, "reload: the configuration is invalid: nothing changed");
            return {{"ok", false}, {"error", "invalid configuration: nothing changed"}, {"diagnostics", diagnostics}};
        }
        config.services.reserve(supervisor.services().size());
        for (const auto& s : supervisor.services()) config.services.push_back(s->spec());
        const config::ConfigDiff d = config::diff(config, *result.config);
        std::vector<config::ServiceSpec>().swap(config.services);
        if (std::string refused = supervisor.apply(*result.config, d); !refused.empty()) {
            logging.log(config::LogLevel::warn, "reload refused: " + refused);
            return {{"ok", false}, {"error", refused}};
        }
        const config::MainConfig& main = result.config->main;
        if (d.log_level_changed) logging.set_level(main.log.level);
        if (d.print_interval_changed) publisher.set_print_interval(main.status.print_interval);
        if (d.http_changed) open_http(main.status.http);
        const std::string summary = config::describe(d);
        logging.log(d.needs_restart.empty() ? config::LogLevel::info : config::LogLevel::warn, summary);
        config.main = std::move(result.config->main);
        config.capabilities = std::move(result.config->capabilities);
        result = {};
        release_soon();
        return {{"ok", true}, {"diff", config::to_json(d)}, {"summary", summary}};
    });
    api.reload_with([&](ControlApi::ReloadAnswer answer) { reloader.request(std::move(answer)); });
    world.reload_with([&] {
        if (reloader.reading()) logging.log(config::LogLevel::info, "reload: a read is under way: one more read follows it");
        reloader.request(nullptr);
    });

    bool finishing = false;
    Reaper reaper(io, [&](int pid, const supervisor::ExitStatus& status) {
        Doing doing("handling the exit of pid", nullptr, pid);
        world.process_ended(pid);
        bool known = supervisor.on_exit(pid, status) || world.on_exit(pid, status);
        world.after_exit(pid);
        if (!known) logging.log(config::LogLevel::debug, "reaped orphan " + std::to_string(pid) + " (" + status.describe() + ")");
        return known;
    });

    // After the last service stopped: kill what escaped, wait for it and for the last output.
    boost::asio::steady_timer finish(io);
    auto deadline = std::chrono::steady_clock::now();
    std::function<void()> check_finished = [&] {
        kill_our_children();
        reaper.reap_now();
        const bool children = have_children();
        const bool released = world.release();  // what remains in the cgroups is killed
        if ((!children && released && world.open_captures() == 0) || std::chrono::steady_clock::now() >= deadline) {
            if (children || !released) logging.log(config::LogLevel::error, "processes still alive after SIGKILL (uninterruptible?)");
            io.stop();
            return;
        }
        finish.expires_after(std::chrono::milliseconds(10));
        finish.async_wait([&](const boost::system::error_code& ec) {
            if (!ec) check_finished();
        });
    };
    auto maybe_finish = [&] {
        if (world.complete() && !finishing) {
            finishing = true;
            deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
            logging.log(config::LogLevel::info, "all services stopped");
            check_finished();
        }
    };

    // The supervisor decides what each signal means (supervisor.hpp); here they are only caught.
    boost::asio::signal_set signals(io);
    for (int sig : supervisor::Supervisor::handled_signals()) signals.add(sig);
    std::function<void()> wait_signal = [&] {
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            wait_signal();
            Doing doing("handling signal", nullptr, sig);
            supervisor.on_signal(sig);
            maybe_finish();
        });
    };
    wait_signal();

    const std::size_t count = supervisor.services().size();
    logging.log(config::LogLevel::info, "mainstay starting " + std::to_string(count) + (count == 1 ? " service" : " services") +
                                            " (pid " + std::to_string(::getpid()) + (pid1 ? ", PID 1)" : ", subreaper)"));
    // The one exception boundary: whatever a handler throws is logged with what was being done,
    // and supervision goes on.
    auto contained = [&](auto&& step) {
        try {
            step();
        } catch (const std::exception& e) {
            logging.log(config::LogLevel::error,
                        "internal error while " + Doing::take() + ": " + e.what() + " (supervision goes on)");
        }
    };
    contained([&] {
        Doing doing("starting the services");
        supervisor.start();
    });
    contained([&] { reaper.reap_now(); });
    contained(maybe_finish);  // an early critical exit may have nothing left to wait for

    // Each event may complete the shutdown: look after every handler.
    bool idle = false;
    while (!io.stopped() && !idle) {
        contained([&] {
            idle = io.run_one() == 0;
            maybe_finish();
        });
    }
    world.release();
    if (http) http->close();
    if (control) control->close();
    publisher.stop();  // the last status document: stopping
    logging.log(config::LogLevel::info, "mainstay stopped");
    return supervisor.exit_code();
}

}  // namespace mainstay::runtime
