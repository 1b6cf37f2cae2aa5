// Service, continued: `mainstay start|stop|restart|resume NAME`, each logged.
#include <algorithm>
#include <csignal>
#include <utility>

#include "config/diff.hpp"
#include "config/values.hpp"
#include "supervisor/service.hpp"

namespace mainstay::supervisor {

using resilience::add_saturating;

std::string Service::stop_by_hand(World& world) {
    if (want_ == Want::held && !active()) return spec_.name + " is already stopped";
    observer_.log(config::LogLevel::info, spec_.name + ": stop requested");
    want_ = Want::held;
    restart_now_ = false;
    stop(world);
    if (!pid_) become(world, State::stopped, "stopped by hand");
    return {};
}

std::string Service::start_by_hand(World& world) {
    if (state_ == State::recovering || state_ == State::paused) return resume_by_hand(world);
    if (state_ == State::stopping) return spec_.name + " is stopping: start it once it has stopped";
    if (pid_ || (want_ == Want::running && spec_.kind == config::Kind::external && state_ != State::failed)) {
        return spec_.name + " is already running";
    }
    if (want_ != Want::held && (state_ == State::waiting || state_ == State::blocked)) {
        return spec_.name + " is already " + std::string(to_string(state_)) +
               (reason_.empty() ? "" : " (" + reason_ + ")");
    }
    observer_.log(config::LogLevel::info, spec_.name + ": start requested");
    // Idle, not running: it may have ended (completed, failed, stopped by its policy) still
    // wanted, and the Supervisor starts only a service that does not want to run yet, once its
    // dependencies are met.
    want_ = Want::idle;
    recovery_.stop();
    breaker_.reset(world.now());
    report_breaker(world, "started by hand");
    become(world, State::waiting, "start requested");  // the Supervisor starts it once its dependencies are met
    return {};
}

std::string Service::restart_by_hand(World& world) {
    if (state_ == State::recovering || state_ == State::paused) return resume_by_hand(world);
    if (!pid_) return start_by_hand(world);
    if (state_ == State::stopping) return spec_.name + " is stopping already";
    observer_.log(config::LogLevel::info, spec_.name + ": restart requested");
    restart_now_ = true;
    restart_for(world, "restart requested");
    return {};
}

std::string Service::resume_by_hand(World& world) {
    // A permanent failure is not retried until asked: resume asks as start does (SPEC §3).
    if (state_ == State::failed && want_ != Want::held) return start_by_hand(world);
    if (state_ != State::paused && state_ != State::recovering) {
        if (breaker_.state() != resilience::BreakerState::closed) {
            // Open (an external service's wakes, say) while the service is not recovering: the
            // breaker closes, the next call goes through.
            observer_.log(config::LogLevel::info, spec_.name + ": resume requested");
            breaker_.reset(world.now());
            report_breaker(world, "resumed");
            return {};
        }
        return spec_.name + " is " + std::string(to_string(state_)) + ": nothing to resume";
    }
    observer_.log(config::LogLevel::info, spec_.name + ": resume requested");
    resume(world);
    return {};
}

}  // namespace mainstay::supervisor
