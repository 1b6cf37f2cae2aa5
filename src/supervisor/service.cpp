#include "supervisor/service.hpp"

#include <algorithm>
#include <csignal>
#include <utility>

#include "config/diff.hpp"
#include "config/values.hpp"

namespace mainstay::supervisor {

using resilience::add_saturating;
using resilience::RecoveryState;

namespace {

std::uint64_t launches = 0;  // every start of every service, in order (one thread: the supervisor's)

}  // namespace

std::string with_last_words(const std::string& what, const std::string& line) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) return what;
    const auto last = line.find_last_not_of(" \t\r");
    return what + ": \"" + config::printable(std::string_view(line).substr(first, last + 1 - first), 200) + "\"";
}

Service::Service(const config::ServiceSpec& spec, Id id, Observer& observer, resilience::Random& random,
                 resilience::EventSink* events)
    : spec_(config::without_positions(spec)),
      id_(id),
      breaker_(spec_.restart.circuit_breaker, {events, spec_.name, "restart"}),
      recovery_(spec_.restart.backoff, spec_.recovery, random, {events, spec_.name, "restart"}),
      probes_(spec_.probes, spec_.name, events),
      wake_(spec_.wake ? spec_.wake->retry : resilience::RetryParams{}, random, {events, spec_.name, "wake"}),
      observer_(observer),
      events_(events) {}

void Service::become(World& world, State s, std::string reason, bool quiet, bool failed) {
    std::optional<Transition> t;
    if (s != state_ || failed) {
        t = Transition{Transition::Subject::service, spec_.name, state_, s, reason, std::nullopt, std::nullopt};
        if (s == State::recovering || s == State::paused) t->attempt = recovery_.attempts();
        if (s == State::recovering) {
            if (auto next = recovery_.next_deadline()) {
                t->next_attempt_in = std::max(Duration{0}, std::chrono::duration_cast<Duration>(*next - world.now()));
            }
        }
    }
    if (!quiet && (s != state_ || reason != reason_)) {
        std::string line = spec_.name + ": " + std::string(to_string(s));
        if (!reason.empty()) line += " (" + reason + ")";
        observer_.log(s == State::failed || s == State::paused ? config::LogLevel::error
                      : s == State::recovering                 ? config::LogLevel::warn
                                                               : config::LogLevel::info,
                      line);
    }
    if (s != state_) since_ = world.now();
    state_ = s;
    reason_ = std::move(reason);
    if (t) observer_.record(*t);  // after the change: a reader of the whole sees it done
}

void Service::report_breaker(World& world, std::string_view closed_why) {
    using resilience::BreakerState;
    const BreakerState was = std::exchange(reported_breaker_, breaker_.state());
    if (was == reported_breaker_) return;
    const std::string head = spec_.name + ": circuit breaker ";
    switch (reported_breaker_) {
        case BreakerState::open: {
            const std::string next =
                "; next trial in " + config::format_duration(breaker_.remaining_cooldown(world.now()));
            observer_.log(config::LogLevel::warn, was == BreakerState::half_open
                                                      ? head + "open again: the trial failed" + next
                                                      : head + "open after " +
                                                            std::to_string(breaker_.consecutive_failures()) +
                                                            " failures in a row" + next);
            break;
        }
        case BreakerState::half_open:
            observer_.log(config::LogLevel::info, head + "half-open: one trial attempt now");
            break;
        case BreakerState::closed:
            observer_.log(config::LogLevel::info, head + "closed: " + std::string(closed_why));
            break;
    }
}

void Service::start(World& world) {
    want_ = Want::running;
    if (pid_) return;
    if (spec_.kind == config::Kind::external) {  // nothing to run: it is watched through its readiness probe
        probes_.begin(world.now());
        become(world, State::starting, "probing");
        return;
    }
    if (state_ == State::recovering || state_ == State::paused) {
        recovery_.conditions_changed(world.now());
        return;
    }
    permit_ = breaker_.allow_request(world.now());
    report_breaker(world);
    launch(world);
}

void Service::launch(World& world) {
    const TimePoint now = world.now();
    StartResult result = world.start_process(spec_);
    attempted_ = true;
    if (++starts_ > 1) ++restarts_;
    if (!result.pid) return failure(world, result.error);
    pid_ = result.pid;
    restart_reason_.reset();
    timed_out_ = false;
    // A oneshot's run is bounded (SPEC §3 `timeout`): its dependents never wait for ever.
    if (spec_.kind == config::Kind::oneshot && spec_.timeout > Duration{0})
        run_until_ = add_saturating(now, spec_.timeout);
    probes_.begin(now);
    // Without a readiness probe a process is ready once up for ready_after (and past its
    // startup probe), unless it says when itself (`ready:`).
    pushed_ready_ = said_stopping_ = false;
    said_status_.clear();
    launch_serial_ = ++launches;
    watchdog_at_.reset();
    if (spec_.ready.watchdog) watchdog_at_ = add_saturating(now, *spec_.ready.watchdog);
    std::string how = "pid " + std::to_string(*pid_);
    if (spec_.kind != config::Kind::oneshot && !probes_.has(ProbeKind::readiness)) {
        if (!spec_.ready.pushed())
            ready_at_ = add_saturating(now, spec_.ready_after);
        else
            how += "; " + waiting_for_push();
    }
    become(world, State::running, how);
}

std::string Service::waiting_for_push() const {
    if (spec_.ready.notify) return "waiting for READY=1 on its NOTIFY_SOCKET";
    if (spec_.ready.fd) return "waiting for a newline on its fd " + std::to_string(*spec_.ready.fd);
    return "waiting for an output line matching \"" + spec_.ready.log_line.value_or("") + "\"";
}

void Service::attempt(World& world) {
    const TimePoint now = world.now();
    permit_ = breaker_.allow_request(now);
    report_breaker(world);
    if (!permit_) {
        if (auto until = breaker_.next_deadline()) recovery_.postpone(*until);
        become(world, State::recovering, "circuit breaker open; last: " + recovery_.last_error());
        return;
    }
    if (!recovery_.begin_attempt(now)) {
        if (recovery_.state() == RecoveryState::paused)
            become(world, State::paused, "safety valve: " + recovery_.pause_reason());
        return;
    }
    launch(world);
}

void Service::failure(World& world, const std::string& why) {
    const TimePoint now = world.now();
    breaker_.on_failure(now, permit_, why);
    report_breaker(world);
    if (recovery_.attempt_running())
        recovery_.on_attempt_result(now, false, why);
    else
        recovery_.start(now, why);
    if (recovery_.state() == RecoveryState::paused) {
        become(world, State::paused, "safety valve: " + recovery_.pause_reason() + "; last: " + why);
        return;
    }
    std::string reason = why;
    if (auto until = breaker_.next_deadline()) {
        recovery_.postpone(*until);
        reason += "; circuit breaker open for " + config::format_duration(breaker_.remaining_cooldown(now));
    }
    // One line per failure, even when the reason is the same as last time: what failed, which
    // attempt comes next and when ("docker: recovering (...); attempt 4 in 16s").
    std::string line = spec_.name + ": recovering (" + reason + ")";
    if (auto next = recovery_.next_deadline()) {
        line += "; attempt " + std::to_string(recovery_.attempts() + 1) + " in " +
                config::format_duration(std::max(Duration{0}, std::chrono::duration_cast<Duration>(*next - now)));
    }
    observer_.log(config::LogLevel::warn, line);
    become(world, State::recovering, std::move(reason), true, true);
}

void Service::on_ready(World& world) {
    const TimePoint now = world.now();
    breaker_.on_success(now, permit_);
    report_breaker(world);
    if (recovery_.attempt_running()) recovery_.on_attempt_result(now, true);
    reset_at_ = add_saturating(now, spec_.restart.reset_after);
    become(world, State::ready, "");
}

void Service::on_exit(World& world, const ExitStatus& status) {
    if (!pid_) return;
    // Whatever the leader left in its group goes with it (the zombie still pins the pgid).
    world.signal_group(*pid_, SIGKILL);
    pid_.reset();
    probes_.end(world, id_);
    last_exit_ = status;
    ready_at_.reset();
    reset_at_.reset();
    run_until_.reset();
    watchdog_at_.reset();
    const std::string what = status.describe();
    if (std::exchange(timed_out_, false) && want_ == Want::running && !restart_reason_) {
        // Stopped at its timeout: a failure (transient: retried per its restart policy).
        kill_at_.reset();
        const std::string why = "timed out: still running after " + config::format_duration(spec_.timeout) +
                                " (its timeout), stopped: " + what;
        if (spec_.restart.policy == config::RestartPolicy::never) {
            recovery_.stop();
            become(world, State::failed, why + "; restart policy is never");
            return;
        }
        return failure(world, why);
    }
    if (restart_reason_ && want_ == Want::running) {  // it was stopped because a probe failed, or by hand
        kill_at_.reset();
        if (helper_pid_) world.signal_group(*helper_pid_, SIGKILL);
        if (std::exchange(restart_now_, false)) {  // `mainstay restart`: again at once, a fresh series
            restart_reason_.reset();
            recovery_.stop();
            breaker_.reset(world.now());
            report_breaker(world, "restarted by hand");
            permit_ = breaker_.allow_request(world.now());
            return launch(world);
        }
        return failure(world, *std::exchange(restart_reason_, std::nullopt));
    }
    if (want_ != Want::running || state_ == State::stopping) {
        kill_at_.reset();
        recovery_.stop();
        // The stop command's work is done (or moot): it does not outlive the service.
        if (helper_pid_) world.signal_group(*helper_pid_, SIGKILL);
        if (permanent_reason_) {
            become(world, State::failed, *std::exchange(permanent_reason_, std::nullopt));
            return;
        }
        // Ended by the signal it was asked to stop with: that is what was asked, not a failure.
        const bool as_asked = status.signal && *status.signal == spec_.stop.signal;
        become(world, State::stopped, as_asked ? config::signal_name(*status.signal) : what);
        return;
    }
    // `success_exit_codes` count as a clean stop, like 0 (143 from a JVM after SIGTERM).
    const auto& ok_codes = spec_.success_exit_codes;
    const bool success = status.success() ||
                         (status.code && std::find(ok_codes.begin(), ok_codes.end(), *status.code) != ok_codes.end());
    // A failure is told in the service's own words too: `exited with code 1: "Address already in use"`.
    const std::string what_said = status.success() ? what
                                  : success        ? what + " (a success exit code)"
                                                   : with_last_words(what, world.last_output(spec_.name));
    const auto& codes = spec_.restart.permanent_exit_codes;
    if (!success && status.code && std::find(codes.begin(), codes.end(), *status.code) != codes.end()) {
        recovery_.stop();
        become(world, State::failed, what_said + " (a permanent exit code)");
        return;
    }
    const config::ExitAction action = config::effective_exit_action(spec_, success);
    if (action == config::ExitAction::shutdown) {
        // `on_exit: shutdown` (a container that ends with its service): everything stops in
        // order and mainstay exits with this service's code (128 + the signal that killed it).
        recovery_.stop();
        shutdown_code_ = status.code ? *status.code : 128 + status.signal.value_or(0);
        become(world,
               spec_.kind == config::Kind::oneshot && success ? State::completed
               : success                                      ? State::stopped
                                                              : State::failed,
               what_said + "; on_exit: shutdown");
        return;
    }
    if (spec_.kind == config::Kind::oneshot && success) {
        breaker_.on_success(world.now(), permit_);
        report_breaker(world);
        if (recovery_.attempt_running()) recovery_.on_attempt_result(world.now(), true);
        recovery_.stop();
        become(world, State::completed, what_said);
        return;
    }
    if (action == config::ExitAction::ignore) {
        recovery_.stop();
        const std::string why = (success ? spec_.on_success : spec_.on_failure)
                                    ? "; on_exit: ignore"
                                    : "; restart policy is " + std::string(config::to_string(spec_.restart.policy));
        become(world, success ? State::stopped : State::failed, what_said + why);
        return;
    }
    failure(world, what_said);
}

void Service::on_notice(World& world, const Notice& notice) {
    if (!pid_ || !spec_.ready.pushed() || state_ == State::stopping) return;
    if (notice.status) {
        said_status_ = *notice.status;
        if (state_ == State::running || state_ == State::ready || state_ == State::unhealthy) {
            std::string base = state_ == State::ready ? "" : "pid " + std::to_string(*pid_);
            if (state_ == State::running && !pushed_ready_ && !said_stopping_) base += "; " + waiting_for_push();
            if (said_stopping_) base += "; it said STOPPING=1";
            reason_ = base + (base.empty() ? "" : "; ") + "status: " + said_status_;
        }
    }
    if (notice.watchdog && spec_.ready.watchdog && !said_stopping_) {
        watchdog_at_ = add_saturating(world.now(), *spec_.ready.watchdog);
    }
    if (notice.watchdog_trigger && spec_.ready.watchdog) {
        return restart_for(world, "watchdog: it said WATCHDOG=trigger");
    }
    if (notice.stopping && !said_stopping_) {
        said_stopping_ = true;
        watchdog_at_.reset();
        pushed_ready_ = false;
        reset_at_.reset();
        become(world, State::running,
               "pid " + std::to_string(*pid_) + "; it said STOPPING=1" +
                   (said_status_.empty() ? "" : "; status: " + said_status_));
        return;
    }
    if (notice.ready && !said_stopping_ && !pushed_ready_) {
        pushed_ready_ = true;
        const bool probe_agrees =
            !probes_.has(ProbeKind::readiness) || probes_.readiness() == resilience::HealthState::healthy;
        if (state_ == State::running && probes_.startup_passed() && probe_agrees) on_ready(world);
    }
}

void Service::restart_after(World& world, const std::string& dependency) {
    if (!pid_ || state_ == State::stopping) return;
    observer_.log(config::LogLevel::info,
                  spec_.name + ": restarting: its dependency " + dependency + " restarted (restart: true)");
    restart_now_ = true;
    restart_for(world, "its dependency " + dependency + " restarted");
}

void Service::on_timer(World& world) {
    const TimePoint now = world.now();
    if (watchdog_at_ && now >= *watchdog_at_ && pid_ && state_ != State::stopping) {
        watchdog_at_.reset();
        return restart_for(world, "watchdog: no WATCHDOG=1 within " + config::format_duration(*spec_.ready.watchdog));
    }
    if (ready_at_ && now >= *ready_at_ && state_ == State::running && probes_.startup_passed()) {
        ready_at_.reset();
        on_ready(world);
    }
    probes_.on_timer(world, id_);
    if (spec_.wake) wake_step(world);
    if (run_until_ && now >= *run_until_ && pid_ && state_ != State::stopping) {
        run_until_.reset();
        timed_out_ = true;
        const std::string why = "timed out after " + config::format_duration(spec_.timeout);
        if (events_ != nullptr) {
            events_->on_event(resilience::Event{resilience::EventKind::timeout, spec_.name, "run", {}, {}, why, now});
        }
        kill_at_ = add_saturating(now, spec_.stop.timeout);
        become(world, State::stopping,
               why + " (its timeout): stop signal " + config::signal_name(spec_.stop.signal) + ", SIGKILL after " +
                   config::format_duration(spec_.stop.timeout));
        world.signal_group(*pid_, spec_.stop.signal);
    }
    if (kill_at_ && now >= *kill_at_ && pid_) {
        kill_at_.reset();
        become(world, State::stopping,
               "did not stop within " + config::format_duration(spec_.stop.timeout) + ": SIGKILL");
        kill(world);
    }
    if (reset_at_ && now >= *reset_at_) {
        // Ready for reset_after: the next failure starts a fresh series (SPEC §3).
        reset_at_.reset();
        recovery_.reset_backoff();
        observer_.log(config::LogLevel::debug, spec_.name + ": ready for " +
                                                   config::format_duration(spec_.restart.reset_after) +
                                                   ": a next failure starts a fresh series (first retry after " +
                                                   config::format_duration(spec_.restart.backoff.initial) + ")");
        if (breaker_.state() != resilience::BreakerState::closed) breaker_.reset(now);
        report_breaker(world, "ready for " + config::format_duration(spec_.restart.reset_after));
    }
    if (state_ == State::recovering && want_ == Want::running) {
        breaker_.poll(now);
        report_breaker(world);
        if (auto due = recovery_.next_deadline(); due && now >= *due) attempt(world);
    }
}

void Service::hold(World& world) {
    unwant();
    recovery_.stop();
    watchdog_at_.reset();  // the shutdown waves stop it now
    if (!pid_ && state_ != State::failed && state_ != State::completed && state_ != State::stopped) {
        become(world, State::stopped, "");
    }
}

void Service::kill(World& world) {
    if (pid_) world.signal_group(*pid_, SIGKILL);
    if (helper_pid_) world.signal_group(*helper_pid_, SIGKILL);
}

void Service::on_probe_result(World& world, ProbeKind kind, resilience::ProbeStatus status, const std::string& detail) {
    // "readiness probe http://127.0.0.1:8000/health failed: HTTP 503": what was tried, and how it
    // went; made only when a verdict needs it, not for every result.
    auto what = [&] {
        const config::ProbeSpec* probe = probes_.spec(kind);
        return std::string(to_string(kind)) + " probe " + (probe ? config::describe_target(*probe) + " " : "") +
               "failed: " + detail;
    };
    if (status == resilience::ProbeStatus::permanent_failure && probes_.has(kind)) {
        probes_.on_result(world.now(), kind, status, detail);  // for its figures; what follows ends the probes
        return fail_permanently(world, what());
    }
    const ProbeChange change = probes_.on_result(world.now(), kind, status, detail);
    // Still down after a wake series ended: another series (the breaker limits how often). After
    // a wake that succeeded, the remote side gets `wake.retry.timeout` to come up first.
    const bool grace =
        wake_.state() == resilience::RetryState::succeeded && wake_succeeded_at_ &&
        world.now() < add_saturating(*wake_succeeded_at_, spec_.wake ? spec_.wake->retry.timeout : Duration(0));
    if (change == ProbeChange::none && spec_.wake && state_ == State::unhealthy && !helper_pid_ &&
        kind == ProbeKind::readiness && status != resilience::ProbeStatus::success && wake_.finished() && !grace) {
        wake_.begin(world.now());
        wake_step(world);
    }
    switch (change) {
        case ProbeChange::none:
            break;
        case ProbeChange::startup_passed:
            if (ready_at_ && world.now() >= *ready_at_ && state_ == State::running) {
                ready_at_.reset();
                on_ready(world);
            } else if (pushed_ready_ && state_ == State::running && !probes_.has(ProbeKind::readiness)) {
                on_ready(world);
            }
            break;
        case ProbeChange::startup_failed:
        case ProbeChange::liveness_failed:
            restart_for(world, what());
            break;
        case ProbeChange::ready:
            // With pushed readiness too (`ready:`), both must say so.
            if ((state_ == State::running || state_ == State::unhealthy || state_ == State::starting) &&
                (!spec_.ready.pushed() || pushed_ready_)) {
                on_ready(world);
            }
            break;
        case ProbeChange::unready:
            // Ready before, or never yet: either way unavailable, and it has had its chance.
            if (state_ == State::ready || state_ == State::running || state_ == State::starting) {
                reset_at_.reset();
                become(world, State::unhealthy, what());
            }
            // An external service that does not answer is woken (again) by its wake command.
            if (spec_.wake && want_ == Want::running && !helper_pid_ &&
                (wake_.state() == resilience::RetryState::idle || wake_.finished())) {
                wake_.begin(world.now());
                wake_step(world);
            }
            break;
    }
}

void Service::fail_permanently(World& world, const std::string& why) {
    const std::string reason = "permanent: " + why + "; not retried until start, restart or resume";
    recovery_.stop();
    probes_.end(world, id_);
    ready_at_.reset();
    reset_at_.reset();
    run_until_.reset();
    if (spec_.kind == config::Kind::external) {
        if (helper_pid_) world.signal_group(*helper_pid_, SIGKILL);  // a wake in flight
        become(world, State::failed, reason);
        return;
    }
    if (!pid_) {
        unwant();
        become(world, State::failed, reason);
        return;
    }
    // Its process goes (failed means not running), and its exit then makes it failed.
    permanent_reason_ = reason;
    unwant();
    kill_at_ = add_saturating(world.now(), spec_.stop.timeout);
    become(world, State::stopping, why + ": permanent; stop signal " + config::signal_name(spec_.stop.signal));
    world.signal_group(*pid_, spec_.stop.signal);
}

void Service::restart_for(World& world, std::string why) {
    if (!pid_ || state_ == State::stopping) return;
    restart_reason_ = why;
    ready_at_.reset();
    reset_at_.reset();
    watchdog_at_.reset();
    kill_at_ = add_saturating(world.now(), spec_.stop.timeout);
    become(world, State::stopping, why + "; restarting");
    world.signal_group(*pid_, spec_.stop.signal);
}

void Service::stop(World& world, bool force) {
    unwant();
    if (spec_.kind == config::Kind::external) {
        probes_.end(world, id_);
        if (helper_pid_) world.signal_group(*helper_pid_, SIGKILL);  // a wake command in flight
    }
    recovery_.stop();
    ready_at_.reset();
    reset_at_.reset();
    watchdog_at_.reset();
    if (pid_ && force) {
        kill_at_.reset();
        become(world, State::stopping, "SIGKILL");
        kill(world);
        return;
    }
    if (pid_) {
        if (state_ == State::stopping) return;
        kill_at_ = add_saturating(world.now(), spec_.stop.timeout);
        if (spec_.stop.command) {
            StartResult helper = world.start_helper(spec_, *spec_.stop.command, "stop");
            if (helper.pid) {
                helper_pid_ = helper.pid;
                become(world, State::stopping, "stop command pid " + std::to_string(*helper.pid));
                return;
            }
            observer_.log(config::LogLevel::warn,
                          spec_.name + ": stop command not started (" + helper.error + "); using the stop signal");
        }
        become(world, State::stopping, "stop signal " + config::signal_name(spec_.stop.signal));
        world.signal_group(*pid_, spec_.stop.signal);
        return;
    }
    if (state_ != State::failed && state_ != State::completed && state_ != State::stopped)
        become(world, State::stopped, "");
}

void Service::on_helper_exit(World& world, const ExitStatus& status) {
    world.signal_group(*helper_pid_, SIGKILL);
    helper_pid_.reset();
    if (spec_.kind == config::Kind::external) return on_wake_exit(world, status);
    if (!status.success()) observer_.log(config::LogLevel::warn, spec_.name + ": stop command " + status.describe());
}

void Service::wake(World& world) {
    if (state_ == State::recovering && want_ == Want::running) recovery_.conditions_changed(world.now());
}

void Service::set_waiting(World& world, State state, std::string reason) {
    if (state_ == State::waiting || state_ == State::blocked) become(world, state, std::move(reason));
}

void Service::resume(World& world) {
    if (state_ != State::paused && state_ != State::recovering) return;
    breaker_.reset(world.now());
    report_breaker(world, "resumed");
    recovery_.resume(world.now());
    become(world, State::recovering, "resumed");
}

std::optional<TimePoint> Service::next_deadline() const {
    std::optional<TimePoint> next;
    auto consider = [&](std::optional<TimePoint> t) {
        if (t && (!next || *t < *next)) next = t;
    };
    if (probes_.startup_passed()) consider(ready_at_);  // until then the startup probe's result decides
    consider(kill_at_);
    consider(reset_at_);
    consider(run_until_);
    consider(watchdog_at_);
    consider(probes_.next_deadline());
    if (spec_.wake && want_ == Want::running) {
        if (wake_.state() == resilience::RetryState::attempting) {
            consider(wake_.next_deadline());  // a running wake command always has its timeout
        } else if (state_ != State::ready && wake_.state() == resilience::RetryState::waiting && !helper_pid_) {
            // (A wake killed at its timeout counts until its exit comes: that exit re-arms this.)
            // While the breaker is open the next attempt waits for it, not for the backoff.
            consider(breaker_.state() == resilience::BreakerState::open ? breaker_.next_deadline()
                                                                        : wake_.next_deadline());
        }
    }
    if (state_ == State::recovering && want_ == Want::running) consider(recovery_.next_deadline());
    return next;
}

bool Service::settled() const {
    switch (state_) {
        case State::ready:
        case State::completed:
        case State::failed:
        case State::paused:
        case State::unhealthy:
            return true;
        case State::recovering:
        case State::stopped:
            return attempted_;

        default:
            return false;
    }
}

}  // namespace mainstay::supervisor
