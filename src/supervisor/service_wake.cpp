// Service, continued: an external service's wake command, run under its retry policy and
// through its circuit breaker.
#include <algorithm>
#include <csignal>
#include <utility>

#include "config/diff.hpp"
#include "config/values.hpp"
#include "supervisor/service.hpp"

namespace mainstay::supervisor {

using resilience::add_saturating;

void Service::wake_step(World& world) {
    const TimePoint now = world.now();
    if (wake_.state() == resilience::RetryState::attempting) {  // its timeout came?
        if (auto due = wake_.next_deadline(); due && now >= *due && helper_pid_) {
            world.signal_group(*helper_pid_, SIGKILL);  // its exit is then ignored
            wake_.on_result(now, resilience::Outcome::timed_out("wake command timed out"));
            breaker_.on_failure(now, wake_permit_, "wake command timed out");
            report_breaker(world);
            observer_.log(config::LogLevel::warn, spec_.name + ": wake failed (timed out after " +
                                                      config::format_duration(spec_.wake->retry.timeout) + ": killed)");
        }
        return;
    }
    if (helper_pid_ || want_ != Want::running || state_ == State::ready) return;
    auto due = wake_.next_deadline();
    if (wake_.state() != resilience::RetryState::waiting || !due || now < *due) return;
    wake_permit_ = breaker_.allow_request(now);
    report_breaker(world);
    if (!wake_permit_) return;  // the breaker is open: tried again at its next deadline
    wake_.start_attempt(now);
    StartResult started = world.start_helper(spec_, spec_.wake->command, "wake");
    if (!started.pid) {
        wake_.on_result(now, resilience::Outcome::transient(started.error));
        breaker_.on_failure(now, wake_permit_, started.error);
        report_breaker(world);
        return;
    }
    helper_pid_ = started.pid;
    ++wake_attempts_;  // numbered across series, so a log reader sees how many it took in all
    observer_.log(config::LogLevel::info, spec_.name + ": waking (attempt " + std::to_string(wake_attempts_) + ")");
}

void Service::on_wake_exit(World& world, const ExitStatus& status) {
    const TimePoint now = world.now();
    if (wake_.state() != resilience::RetryState::attempting) return;  // it had timed out already
    if (status.success()) {
        wake_.on_result(now, resilience::Outcome::success());
        wake_succeeded_at_ = now;
        breaker_.on_success(now, wake_permit_);
        report_breaker(world, "the wake succeeded");
        // Look again now, then at the fast startup cadence while the remote side comes up.
        probes_.recheck(now, add_saturating(now, spec_.wake->retry.timeout));
    } else if (const auto& codes = spec_.wake->permanent_exit_codes;
               status.code && std::find(codes.begin(), codes.end(), *status.code) != codes.end()) {
        // Retrying cannot fix it (SPEC §3): failed, until start, restart or resume.
        const std::string why = "wake command " + with_last_words(status.describe(), world.last_output(spec_.name)) +
                                " (a permanent exit code)";
        wake_.on_result(now, resilience::Outcome::permanent(why));
        breaker_.on_failure(now, wake_permit_, why);
        report_breaker(world);
        fail_permanently(world, why);
    } else {
        wake_.on_result(now, resilience::Outcome::transient("wake command " + status.describe()));
        breaker_.on_failure(now, wake_permit_, status.describe());
        report_breaker(world);
        if (wake_.state() == resilience::RetryState::exhausted) {
            observer_.log(config::LogLevel::warn, spec_.name + ": wake gave up after " +
                                                      std::to_string(wake_.attempts()) +
                                                      " attempts: " + wake_.last_error());
        } else {
            std::string line = spec_.name + ": wake failed (" + status.describe() + ")";
            if (auto next = wake_.next_deadline()) {
                line += "; next wake in " + config::format_duration(std::max(
                                                Duration{0}, std::chrono::duration_cast<Duration>(*next - now)));
            }
            observer_.log(config::LogLevel::warn, line);
        }
    }
}

}  // namespace mainstay::supervisor
