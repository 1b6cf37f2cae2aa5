#include "runtime/containment.hpp"

#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string_view>

#include "runtime/instance_lock.hpp"
#include "runtime/leftovers.hpp"
#include "runtime/proc.hpp"

namespace mainstay::runtime {
namespace {

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

extern "C" void exit_now(int sig) {
    static const char message[] = "mainstay: stop signal received while loading the configuration: exiting\n";
    ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
    ::_exit(sig == SIGTERM || sig == SIGINT || sig == SIGQUIT ? 0 : 1);
}

}  // namespace

void kill_our_children() {
    const pid_t self = ::getpid();
    for (int pid : proc::all_pids()) {
        auto st = proc::stat(pid);
        if (st && st->ppid == self && pid > 1) ::kill(pid, SIGKILL);
    }
}

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
        if (!run_until(
                io, [&] { return leftovers.gone(); }, std::chrono::seconds(5))) {
            logging.log(config::LogLevel::error,
                        "processes left by a previous instance are still there 5s after SIGKILL");
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
            if (std::find(enabled.begin(), enabled.end(), w) == enabled.end())
                missing += (missing.empty() ? "" : ", ") + w;
        }
        if (missing.empty()) continue;
        logging.log(config::LogLevel::warn, s.name + ": limits (" + missing + ") not applied: " + why);
        c.limits_told.push_back(s.name);
    }
    if (c.tree) {
        logging.log(config::LogLevel::debug, "services run in cgroups under " + c.tree->dir().string());
    } else {
        logging.log(config::LogLevel::info, "no cgroup for services (" + why +
                                                "): their process groups are recorded in " + records_dir.string());
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

void release_free_memory() {
    ::malloc_trim(0);
}

void exit_on_stop_signals() {
    struct sigaction action {};
    action.sa_handler = exit_now;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGQUIT}) ::sigaction(sig, &action, nullptr);
}

}  // namespace mainstay::runtime
