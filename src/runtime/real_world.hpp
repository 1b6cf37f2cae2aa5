// The World as it really is: processes, process groups and Asio timers on one io_context.
//
// It carries out the supervisor's decisions and never decides anything itself: it starts
// processes (spawner) in their cgroups or with a record of their group (cgroup.hpp,
// group_records.hpp), hands their output lines to Logging (log_capture; the output writer puts
// them on the console and in the per-service log files), arms one steady_timer per service,
// and signals groups.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/schema.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/group_records.hpp"
#include "runtime/log_capture.hpp"
#include "runtime/logging.hpp"
#include "runtime/output_tail.hpp"
#include "runtime/probe.hpp"
#include "runtime/pushed_ready.hpp"
#include "runtime/spawner.hpp"
#include "supervisor/observer.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/world.hpp"

namespace mainstay::runtime {

class RealWorld : public supervisor::World {
public:
    // `tails` keeps the last lines of each service (for `mainstay logs` and exit reasons).
    RealWorld(boost::asio::io_context& io, Logging& logging, OutputTails& tails);
    ~RealWorld() override;

    // The supervisor that timers report to; set once, before anything starts.
    void attach(supervisor::Supervisor& supervisor);
    // Where children go: each service into its cgroup under `tree` (probes and commands into
    // its helpers' cgroup), or, with no tree, each service's group recorded in `records`. All
    // get `instance_id` as MAINSTAY_INSTANCE. Set once, before anything starts; either may be null.
    void contain(CgroupTree* tree, GroupRecords* records, std::string instance_id);
    // Its limits were said not to apply already (at start): its first spawn does not say it again.
    void limits_told(const std::string& service) { limits_warned_.insert(service); }

    supervisor::TimePoint now() const override;
    supervisor::StartResult start_process(const config::ServiceSpec& spec) override;
    supervisor::StartResult start_helper(const config::ServiceSpec& spec, const config::Argv& argv,
                                         std::string_view purpose) override;
    supervisor::StartResult start_command(const std::string& label, const config::Argv& argv) override;
    void start_probe(supervisor::Id id, supervisor::ProbeKind kind, const config::ProbeSpec& probe) override;
    void cancel_probe(supervisor::Id id, supervisor::ProbeKind kind) override;
    void signal_group(int pgid, int signal) override;
    void set_timer(supervisor::Id id, std::optional<supervisor::TimePoint> when) override;
    void forget(supervisor::Id id) override;
    void shutdown_complete() override;
    std::string last_output(const std::string& service) const override;
    void reload() override;
    // What reload() does (the daemon reads the configuration again); set before start.
    void reload_with(std::function<void()> reload) { reload_ = std::move(reload); }
    // A transition the supervisor reported (serve/reporter passes each on): a service that
    // stopped, failed or completed no longer holds a descriptor slot.
    void transition(const supervisor::Transition& transition);

    bool complete() const { return complete_; }
    // An exited child that was an exec probe: reports it and returns true.
    bool on_exit(int pid, const supervisor::ExitStatus& status);
    // Process `pid` ended (its exit is about to be handled): read the rest of its output and
    // stop reading, whoever still holds the pipe.
    void process_ended(int pid);
    // Any child was reaped, after the supervisor saw it: a service leader's record goes, and
    // the cgroups of services that ended are removed once empty.
    void after_exit(int pid);
    // At the end: kills what remains in the cgroups and removes them and the records; true
    // when nothing is left.
    bool release();
    // Output captures of processes that have not ended yet.
    std::size_t open_captures() const;

private:
    // The name of service or capability `id`, for messages; nullptr for the supervisor's own timers.
    const std::string* name_of(supervisor::Id id) const;
    // `last_words`: its lines are the owner's last words (a service's own process, an external
    // service's wake), quoted in the reason of a failed exit.
    supervisor::StartResult start(const config::ServiceSpec& spec, const config::Argv& argv, const std::string& label,
                                  bool service, bool last_words);
    // spawn() in the right cgroup (a service's own when `service`, else the helpers'), recorded.
    SpawnOutcome spawn_contained(SpawnRequest& request, const config::ServiceSpec& spec, bool service);

    // A datagram on the notify socket of `service` (whose process is `leader`) from `sender`:
    // handed to the supervisor when `sender` is a process of the service.
    void on_datagram(int leader, const std::string& service, int sender, std::string_view datagram, bool& told);
    // `sender` is the leader, in its process group, or in its cgroup.
    bool of_service(int sender, int leader, const std::string& service) const;

    boost::asio::io_context& io_;
    Logging& logging_;
    OutputTails& tails_;
    supervisor::Supervisor* supervisor_{nullptr};
    std::function<void()> reload_;
    struct Timer {
        explicit Timer(boost::asio::io_context& io) : timer(io) {}
        boost::asio::steady_timer timer;
        std::optional<supervisor::TimePoint> armed;  // the deadline of the pending wait, if any
    };
    std::unordered_map<supervisor::Id, std::unique_ptr<Timer>> timers_;
    std::unordered_map<int, std::unique_ptr<LogCapture>> captures_;  // by pid
    // `ready: {notify}` and `{fd}`: the channels of a service's process, by pid, until it ends.
    struct Pushed {
        std::unique_ptr<NotifySocket> notify;
        std::unique_ptr<ReadyPipe> pipe;
    };
    std::unordered_map<int, Pushed> pushed_;
    // The services holding a descriptor slot (fd_limits.hpp): from their first start until they
    // stop for good. A crash keeps it, so a killed service finds its descriptor again however
    // many others wait for one.
    std::unordered_set<std::string> slot_holders_;
    bool complete_{false};

    CgroupTree* cgroups_{nullptr};
    GroupRecords* records_{nullptr};
    std::string instance_id_;
    struct Leader {
        std::string leaf;     // its cgroup leaf
        std::string service;  // its name
    };
    std::map<int, Leader> leaders_;        // running service leaders, by pid
    std::set<std::string> leaves_;         // service cgroups made (with their limits)
    std::set<std::string> ended_leaves_;   // of services that ended: removed once empty
    std::set<std::string> killed_leaves_;  // SIGKILLed whole: made anew before the next start
    std::set<std::string> limits_warned_;

    // A probe attempt in flight. tcp/http run in `attempt`; an exec probe is a process (`pid`)
    // with a deadline. `generation` tells a late report from the current attempt's.
    struct Probe {
        std::uint64_t generation{0};
        std::unique_ptr<ProbeAttempt> attempt;
        std::optional<int> pid;
        std::unique_ptr<boost::asio::steady_timer> deadline;
        std::chrono::steady_clock::time_point started;
        std::chrono::milliseconds timeout{0};
    };
    using ProbeKey = std::pair<supervisor::Id, supervisor::ProbeKind>;
    void report_probe(ProbeKey key, std::uint64_t generation, resilience::ProbeStatus status, std::string detail);
    std::map<ProbeKey, Probe> probes_;
    std::uint64_t probe_generation_{0};
};

}  // namespace mainstay::runtime
