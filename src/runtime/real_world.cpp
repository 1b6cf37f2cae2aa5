#include "runtime/real_world.hpp"

#include <signal.h>

#include <cerrno>
#include <chrono>

#include "runtime/spawner.hpp"

namespace mainstay::runtime {

RealWorld::RealWorld(boost::asio::io_context& io, const config::Config& config, Logging& logging)
    : io_(io), config_(config), logging_(logging) {
    for (std::size_t i = 0; i <= config.services.size(); ++i) {
        timers_.push_back(std::make_unique<boost::asio::steady_timer>(io));
    }
}

RealWorld::~RealWorld() = default;

void RealWorld::attach(supervisor::Supervisor& supervisor) { supervisor_ = &supervisor; }

supervisor::TimePoint RealWorld::now() const { return std::chrono::steady_clock::now(); }

RotatingFile* RealWorld::service_log(const std::string& name) {
    if (!config_.main.log.file) return nullptr;
    auto& file = service_logs_[name];
    if (!file) {
        file = std::make_unique<RotatingFile>(config_.main.log.file->parent_path() / (name + ".log"),
                                              config_.main.log.max_size, config_.main.log.max_files);
    }
    return file.get();
}

supervisor::StartResult RealWorld::start_process(const config::ServiceSpec& spec) {
    return start(spec, spec.command, spec.name);
}

supervisor::StartResult RealWorld::start_helper(const config::ServiceSpec& spec, const config::Argv& argv) {
    config::ServiceSpec helper = spec;
    helper.shell = false;
    return start(helper, argv, spec.name + "/stop");
}

supervisor::StartResult RealWorld::start(const config::ServiceSpec& spec, const config::Argv& argv, const std::string& label) {
    SpawnRequest request{label, argv, spec.shell, spec.env_file_vars, spec.working_dir, spec.user, spec.group};
    request.env.insert(request.env.end(), spec.environment.begin(), spec.environment.end());
    SpawnOutcome outcome = spawn(request);
    if (!outcome.spawned) return {std::nullopt, outcome.error};

    captures_.remove_if([](const auto& c) { return c->finished(); });
    RotatingFile* file = service_log(spec.name);
    std::string name = label;
    std::string buffer;
    captures_.push_back(std::make_unique<LogCapture>(
        io_, outcome.spawned->stdout_fd, outcome.spawned->stderr_fd,
        [this, name, file, buffer](std::string_view line, bool) mutable {
            logging_.service_line(name, line);
            if (file) {
                buffer.assign(line);
                buffer += '\n';
                file->write(buffer);
            }
        }));
    return {outcome.spawned->pid, {}};
}

void RealWorld::signal_group(int pgid, int signal) {
    if (pgid <= 1) return;  // never the whole system or init's group
    if (::kill(-pgid, signal) == -1 && errno != ESRCH) {
        log(config::LogLevel::warn, "kill(-" + std::to_string(pgid) + ", " + std::to_string(signal) + ") failed");
    }
}

void RealWorld::set_timer(std::size_t index, std::optional<supervisor::TimePoint> when) {
    if (index >= timers_.size()) return;
    auto& timer = *timers_[index];
    if (!when) {
        timer.cancel();
        return;
    }
    timer.expires_at(*when);  // cancels a pending wait
    timer.async_wait([this, index](const boost::system::error_code& ec) {
        if (!ec && supervisor_ != nullptr) supervisor_->on_timer(index);
    });
}

void RealWorld::shutdown_complete() { complete_ = true; }

void RealWorld::log(config::LogLevel level, const std::string& message) { logging_.log(level, message); }

std::size_t RealWorld::open_captures() {
    captures_.remove_if([](const auto& c) { return c->finished(); });
    return captures_.size();
}

}  // namespace mainstay::runtime
