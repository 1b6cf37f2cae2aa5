#include "runtime/real_world.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <regex>

#include "config/values.hpp"
#include "runtime/doing.hpp"
#include "runtime/fd_limits.hpp"
#include "runtime/leftovers.hpp"
#include "runtime/probe_http.hpp"
#include "runtime/probe_tcp.hpp"
#include "runtime/proc.hpp"
#include "runtime/spawner.hpp"

namespace mainstay::runtime {
namespace {

// What runs in `spec`'s context: its environment (env_file first, then `environment`, which
// wins), directory and user.
SpawnRequest request_for(const config::ServiceSpec& spec, const config::Argv& argv, bool shell,
                         const std::string& label) {
    SpawnRequest request{label,     argv,       shell,           spec.env_file_vars, spec.working_dir,
                         spec.user, spec.group, spec.credentials};
    request.env.insert(request.env.end(), spec.environment.begin(), spec.environment.end());
    return request;
}

}  // namespace

RealWorld::RealWorld(boost::asio::io_context& io, Logging& logging, OutputTails& tails)
    : io_(io), logging_(logging), tails_(tails) {
    // A flood waits for its file rather than losing lines, while the disk keeps up.
    LogCapture::hold_reading_while(io_, [this] { return logging_.file_backlog(); });
}

RealWorld::~RealWorld() = default;

void RealWorld::attach(supervisor::Supervisor& supervisor) {
    supervisor_ = &supervisor;
}

void RealWorld::contain(CgroupTree* tree, GroupRecords* records, std::string instance_id) {
    cgroups_ = tree;
    records_ = records;
    instance_id_ = std::move(instance_id);
}

SpawnOutcome RealWorld::spawn_contained(SpawnRequest& request, const config::ServiceSpec& spec, bool service) {
    if (!instance_id_.empty()) request.env.emplace_back(kInstanceVariable, instance_id_);
    if (service) request.env.emplace_back(kServiceVariable, spec.name);
    const std::string leaf = service ? CgroupTree::service_leaf(spec.name) : std::string(CgroupTree::kHelpers);
    int cgroup = -1;
    if (cgroups_ != nullptr) {
        std::string error;
        if (killed_leaves_.count(leaf) != 0) {
            // Its cgroup was killed whole: made anew (see CgroupTree::signal), or while what was
            // killed is still dying, the new process is moved in rather than born there.
            if (cgroups_->remove(leaf)) {
                leaves_.erase(leaf);
                killed_leaves_.erase(leaf);
            } else {
                request.cgroup_move = true;
            }
        }
        const bool made = leaves_.count(leaf) != 0;
        cgroup = cgroups_->open_leaf(leaf, error);
        if (cgroup == -1) return {std::nullopt, error};
        ended_leaves_.erase(leaf);
        if (!made && service) {
            leaves_.insert(leaf);
            if (spec.limits) {
                std::string failed = cgroups_->apply_limits(leaf, *spec.limits);
                if (!failed.empty() && limits_warned_.insert(spec.name).second) {
                    logging_.log(config::LogLevel::warn, spec.name + ": limits not applied: " + failed);
                }
            }
        }
    }
    request.cgroup_fd = cgroup;
    SpawnOutcome outcome = spawn(request);
    if (cgroup != -1) ::close(cgroup);
    if (outcome.spawned && service) {
        leaders_[outcome.spawned->pid] = Leader{leaf, spec.name};
        if (records_ != nullptr && !records_->add(outcome.spawned->pid, spec.name)) {
            logging_.log(config::LogLevel::warn,
                         spec.name + ": cannot record its process group in " + records_->dir().string());
        }
    }
    return outcome;
}

void RealWorld::after_exit(int pid) {
    auto it = leaders_.find(pid);
    if (it != leaders_.end()) {
        // The supervisor has killed the rest of its group (or cgroup) by now. The cgroup stays
        // for the next start (made once per service, not at every restart); it goes with the
        // service (forget) or at the end (release).
        if (records_ != nullptr) records_->remove(pid);
        const std::string service = std::move(it->second.service);
        leaders_.erase(it);
        // Without a cgroup, the daemons it left outside its group are found by name.
        if (cgroups_ == nullptr) {
            std::set<int> running;
            for (const auto& [leader, _] : leaders_) running.insert(leader);
            if (auto ended = end_escaped(service, instance_id_, running); !ended.empty()) {
                std::string list;
                for (const auto& e : ended) list += (list.empty() ? "" : ", ") + e;
                logging_.log(config::LogLevel::info, service + ": ended " + std::to_string(ended.size()) +
                                                         (ended.size() == 1 ? " process" : " processes") +
                                                         " it left outside its group (no cgroup): " + list);
            }
        }
    }
    if (cgroups_ == nullptr) return;
    for (auto leaf = ended_leaves_.begin(); leaf != ended_leaves_.end();) {
        if (cgroups_->remove(*leaf)) {
            leaves_.erase(*leaf);
            leaf = ended_leaves_.erase(leaf);
        } else {
            ++leaf;
        }
    }
}

bool RealWorld::release() {
    if (records_ != nullptr) records_->close();
    return cgroups_ == nullptr || cgroups_->clear();
}

supervisor::TimePoint RealWorld::now() const {
    return std::chrono::steady_clock::now();
}

supervisor::StartResult RealWorld::start_process(const config::ServiceSpec& spec) {
    const bool holds = slot_holders_.contains(spec.name);
    if (!holds && slot_holders_.size() >= service_descriptor_slots()) {
        return {std::nullopt, "cannot start " + (spec.command.empty() ? spec.name : spec.command.front()) +
                                  ": too many open files: all " + std::to_string(slot_holders_.size()) +
                                  " descriptor slots are held by services that run (raise the open-files limit; "
                                  "it starts once one of them stops)"};
    }
    supervisor::StartResult result = start(spec, spec.command, spec.name, true, true);
    if (result.pid && !holds) slot_holders_.insert(spec.name);
    return result;
}

supervisor::StartResult RealWorld::start_helper(const config::ServiceSpec& spec, const config::Argv& argv,
                                                std::string_view purpose) {
    config::ServiceSpec helper = spec;
    helper.shell = false;
    // An external service has no process of its own: its wake command's lines are its last words.
    const bool last_words = spec.kind == config::Kind::external && purpose == "wake";
    return start(helper, argv, spec.name + "/" + std::string(purpose), false, last_words);
}

supervisor::StartResult RealWorld::start_command(const std::string& label, const config::Argv& argv) {
    config::ServiceSpec plain;
    plain.name = label;
    return start(plain, argv, label, false, false);
}

supervisor::StartResult RealWorld::start(const config::ServiceSpec& spec, const config::Argv& argv,
                                         const std::string& label, bool service, bool last_words) {
    SpawnRequest request = request_for(spec, argv, spec.shell, label);
    // A service's `output` applies to its helpers (stop, wake) too; going nowhere, it is not read.
    request.discard_output = !spec.output.console && !spec.output.file && !(service && spec.ready.log_line);
    // `ready: {notify}`: its socket is bound before the start, and told in its environment.
    std::unique_ptr<NotifySocket> notify;
    auto leader = std::make_shared<int>(-1);
    if (service && spec.ready.notify) {
        std::string error;
        notify = NotifySocket::open(
            io_, spec.name,
            [this, leader, name = spec.name, told = false](int sender, std::string_view datagram) mutable {
                on_datagram(*leader, name, sender, datagram, told);
            },
            error);
        if (!notify) return {std::nullopt, error};
        request.env.emplace_back("NOTIFY_SOCKET", notify->address());
        if (spec.ready.watchdog) {
            request.env.emplace_back("WATCHDOG_USEC",
                                     std::to_string(std::chrono::microseconds(*spec.ready.watchdog).count()));
        }
    }
    if (service && spec.ready.fd) request.ready_fd = *spec.ready.fd;
    SpawnOutcome outcome = spawn_contained(request, spec, service);
    if (!outcome.spawned) return {std::nullopt, outcome.error};
    const int pid = outcome.spawned->pid;
    *leader = pid;
    if (notify || outcome.spawned->ready_read != -1) {
        Pushed& pushed = pushed_[pid];
        pushed.notify = std::move(notify);
        if (outcome.spawned->ready_read != -1) {
            pushed.pipe = std::make_unique<ReadyPipe>(io_, outcome.spawned->ready_read, [this, pid] {
                if (supervisor_ != nullptr) supervisor_->on_notice(pid, supervisor::Notice{.ready = true});
            });
        }
    }
    if (outcome.spawned->output_fd == -1) return {pid, {}};

    // Handed to the output writer: the console shows the label ("db/stop"), the lines go to
    // the file of the service or capability the command belongs to.
    // Each line is also kept in the owner's tail (`mainstay logs`); a service's own lines are
    // the last word of its run (the reason of a failed exit quotes it).
    std::string owner = spec.name.substr(0, spec.name.find('/'));
    const config::OutputSpec to = spec.output;
    if (last_words) tails_.begin_run(owner);
    // `ready: {log_line}`: the first matching line makes the service ready (told once, posted).
    std::shared_ptr<std::regex> ready_line;
    if (service && spec.ready.log_line) ready_line = std::make_shared<std::regex>(*spec.ready.log_line);
    const bool keep = to.console || to.file;
    captures_[pid] = std::make_unique<LogCapture>(
        io_, outcome.spawned->output_fd,
        [this, owner = std::move(owner), label, to, last_words, ready_line, pid, keep](std::string_view block) mutable {
            Doing doing("writing a line of", &label);
            const auto now = std::chrono::system_clock::now();
            if (ready_line) {
                for_each_line(block, [&](std::string_view line) {
                    if (!ready_line || !std::regex_search(line.begin(), line.end(), *ready_line)) return;
                    ready_line.reset();
                    boost::asio::post(io_, [this, pid] {
                        if (supervisor_ != nullptr) supervisor_->on_notice(pid, supervisor::Notice{.ready = true});
                    });
                });
            }
            if (!keep) return;  // read only for its ready line
            tails_.add(owner, block, now, last_words);
            logging_.service_line(owner, block, to.console, to.file, label, now);
        },
        Delivery::blocks);
    return {outcome.spawned->pid, {}};
}

void RealWorld::start_probe(supervisor::Id id, supervisor::ProbeKind kind, const config::ProbeSpec& probe) {
    const ProbeKey key{id, kind};
    cancel_probe(id, kind);
    Probe& p = probes_[key];
    p.generation = ++probe_generation_;
    p.started = std::chrono::steady_clock::now();
    p.timeout = probe.timeout;
    const std::uint64_t generation = p.generation;
    auto done = [this, key, generation](const ProbeResult& r) {
        using resilience::ProbeStatus;
        report_probe(key, generation,
                     r.ok          ? ProbeStatus::success
                     : r.timed_out ? ProbeStatus::timeout
                     : r.permanent ? ProbeStatus::permanent_failure
                                   : ProbeStatus::failure,
                     r.detail);
    };
    if (const auto* tcp = std::get_if<config::TcpProbe>(&probe.handler)) {
        p.attempt = start_tcp_probe(io_, *tcp, probe.timeout, done);
    } else if (const auto* http = std::get_if<config::HttpProbe>(&probe.handler)) {
        p.attempt = start_http_probe(io_, *http, probe.timeout, done);
    } else {
        // exec: a process with the service's environment and directory; exit 0 passes. (A
        // capability's check runs with mainstay's own.)
        static const config::ServiceSpec plain;
        const supervisor::Service* owner = supervisor_ != nullptr ? supervisor_->service(id) : nullptr;
        const config::ServiceSpec& spec = owner != nullptr ? owner->spec() : plain;
        SpawnRequest request = request_for(spec, std::get<config::ExecProbe>(probe.handler).argv, false,
                                           spec.name + "/" + std::string(to_string(kind)));
        SpawnOutcome outcome = spawn_contained(request, spec, false);
        if (!outcome.spawned) {
            boost::asio::post(io_, [this, key, generation, error = outcome.error] {
                report_probe(key, generation, resilience::ProbeStatus::failure, error);
            });
            return;
        }
        p.pid = outcome.spawned->pid;
        // Its output is read (so it never blocks) and dropped; the capture ends with the process.
        captures_[*p.pid] = std::make_unique<LogCapture>(io_, outcome.spawned->output_fd, [](std::string_view) {});
        p.deadline = std::make_unique<boost::asio::steady_timer>(io_, probe.timeout);
        p.deadline->async_wait([this, key, generation, timeout = probe.timeout](const boost::system::error_code& ec) {
            if (ec) return;
            auto it = probes_.find(key);
            if (it == probes_.end() || it->second.generation != generation || !it->second.pid) return;
            signal_group(*it->second.pid, SIGKILL);
            report_probe(key, generation, resilience::ProbeStatus::timeout,
                         "timed out after " + config::format_duration(timeout));
        });
    }
}

void RealWorld::cancel_probe(supervisor::Id id, supervisor::ProbeKind kind) {
    auto it = probes_.find({id, kind});
    if (it == probes_.end()) return;
    // An exec probe still running is killed; its exit is then reaped as an unknown child.
    if (it->second.pid) signal_group(*it->second.pid, SIGKILL);
    probes_.erase(it);  // destroying a tcp/http attempt guarantees no report
}

void RealWorld::report_probe(ProbeKey key, std::uint64_t generation, resilience::ProbeStatus status,
                             std::string detail) {
    auto it = probes_.find(key);
    if (it == probes_.end() || it->second.generation != generation) return;
    // Erased later, not here: a tcp/http attempt is reporting from inside itself.
    std::unique_ptr<ProbeAttempt> finished = std::move(it->second.attempt);
    if (finished) boost::asio::post(io_, [gone = std::shared_ptr<ProbeAttempt>(std::move(finished))] {});
    if (it->second.pid) {
        // An exec probe that timed out stays known until its exit is reaped.
        it->second.generation = 0;
    } else {
        probes_.erase(it);
    }
    Doing doing("handling a probe result of", name_of(key.first),
                name_of(key.first) ? -1 : static_cast<long long>(key.first));
    if (supervisor_ != nullptr) supervisor_->on_probe_result(key.first, key.second, status, detail);
}

const std::string* RealWorld::name_of(supervisor::Id id) const {
    return supervisor_ != nullptr ? supervisor_->name_of(id) : nullptr;
}

bool RealWorld::on_exit(int pid, const supervisor::ExitStatus& status) {
    for (auto it = probes_.begin(); it != probes_.end(); ++it) {
        if (it->second.pid != pid) continue;
        signal_group(pid, SIGKILL);  // the probe's own children go with it
        const ProbeKey key = it->first;
        const std::uint64_t generation = it->second.generation;
        probes_.erase(it);
        if (generation != 0 && supervisor_ != nullptr) {
            supervisor_->on_probe_result(
                key.first, key.second,
                status.success() ? resilience::ProbeStatus::success : resilience::ProbeStatus::failure,
                status.success() ? "exit 0" : status.describe());
        }
        return true;
    }
    return false;
}

void RealWorld::signal_group(int pgid, int signal) {
    if (pgid <= 1) return;  // never the whole system or init's group
    if (auto leader = leaders_.find(pgid); leader != leaders_.end() && cgroups_ != nullptr) {
        // A service: every process of its cgroup, daemons that left the group included.
        if (cgroups_->signal(leader->second.leaf, signal)) killed_leaves_.insert(leader->second.leaf);
        return;
    }
    if (::kill(-pgid, signal) == -1 && errno != ESRCH) {
        logging_.log(config::LogLevel::warn,
                     "kill(-" + std::to_string(pgid) + ", " + std::to_string(signal) + ") failed");
    }
}

void RealWorld::set_timer(supervisor::Id id, std::optional<supervisor::TimePoint> when) {
    auto it = timers_.find(id);
    if (!when) {
        if (it != timers_.end() && it->second->armed) {
            it->second->timer.cancel();
            it->second->armed.reset();
        }
        return;
    }
    // Made the first time it is armed, kept until forget(id).
    if (it == timers_.end()) it = timers_.emplace(id, std::make_unique<Timer>(io_)).first;
    Timer& t = *it->second;
    if (t.armed == when) return;  // already waiting for that very deadline: nothing to redo
    t.armed = when;
    t.timer.expires_at(*when);  // cancels a pending wait
    t.timer.async_wait([this, id](const boost::system::error_code& ec) {
        if (ec || supervisor_ == nullptr) return;
        // This wait is over: the next set_timer arms again, even for the same deadline.
        if (auto found = timers_.find(id); found != timers_.end()) found->second->armed.reset();
        Doing doing("handling the timer of", name_of(id), name_of(id) ? -1 : static_cast<long long>(id));
        supervisor_->on_timer(id);
    });
}

void RealWorld::forget(supervisor::Id id) {
    // A service a reload removed (or replaced): its cgroup goes once it is empty.
    if (const supervisor::Service* s = supervisor_ != nullptr ? supervisor_->service(id) : nullptr; s && cgroups_) {
        const std::string leaf = CgroupTree::service_leaf(s->name());
        killed_leaves_.erase(leaf);
        if (leaves_.erase(leaf) != 0 && !cgroups_->remove(leaf)) ended_leaves_.insert(leaf);
    }
    timers_.erase(id);  // a pending wait ends with operation_aborted
    for (auto kind :
         {supervisor::ProbeKind::startup, supervisor::ProbeKind::readiness, supervisor::ProbeKind::liveness}) {
        cancel_probe(id, kind);
    }
}

void RealWorld::shutdown_complete() {
    complete_ = true;
}

void RealWorld::reload() {
    if (reload_) reload_();
}

void RealWorld::transition(const supervisor::Transition& transition) {
    if (transition.subject == supervisor::Transition::Subject::service &&
        (transition.to == supervisor::State::stopped || transition.to == supervisor::State::failed ||
         transition.to == supervisor::State::completed)) {
        slot_holders_.erase(transition.name);
    }
}

std::string RealWorld::last_output(const std::string& service) const {
    return tails_.last_of_run(service);
}

void RealWorld::on_datagram(int leader, const std::string& service, int sender, std::string_view datagram, bool& told) {
    if (leader <= 0 || supervisor_ == nullptr) return;
    if (!of_service(sender, leader, service)) {
        // Anyone on the machine can send to an abstract address: only the service's own count.
        if (!std::exchange(told, true)) {
            logging_.log(config::LogLevel::warn, service + ": ignored a notify message from pid " +
                                                     std::to_string(sender) +
                                                     ", not a process of the service (told once per start)");
        }
        return;
    }
    supervisor_->on_notice(leader, parse_notice(datagram));
}

bool RealWorld::of_service(int sender, int leader, const std::string& service) const {
    if (sender == leader || ::getpgid(sender) == leader) return true;
    if (cgroups_ == nullptr) return false;
    // A process that left the group (setsid) but not the service's cgroup.
    const auto text = proc::read_file("/proc/" + std::to_string(sender) + "/cgroup", 64 * 1024);
    if (!text) return false;
    const auto path = cgroup::parse_proc_cgroup(*text);
    const std::string leaf = "/" + cgroups_->dir().filename().string() + "/" + CgroupTree::service_leaf(service);
    return path && path->ends_with(leaf);
}

void RealWorld::process_ended(int pid) {
    pushed_.erase(pid);
    auto it = captures_.find(pid);
    if (it == captures_.end()) return;
    it->second->finish();  // what it wrote is read; a daemon it left cannot keep the pipe open
    captures_.erase(it);
}

std::size_t RealWorld::open_captures() const {
    return captures_.size();
}

}  // namespace mainstay::runtime
