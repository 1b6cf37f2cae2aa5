#include "supervisor/mode_line.hpp"

#include <utility>

#include "config/schema.hpp"

namespace mainstay::supervisor {

void ModeLine::report(World& world, Observer& observer, Mode mode, const std::function<std::string()>& summary) {
    if (mode == Mode::starting || mode == Mode::stopping) return;
    const bool changed = mode != printed_;
    if (!changed && !dirty_) return;  // nothing new to say
    const TimePoint now = world.now();
    // The same mode with other reasons: at most one line per kInterval.
    const TimePoint due = resilience::add_saturating(printed_at_, kInterval);
    if (!changed && now < due) {
        if (!timer_armed_) world.set_timer(kModeTimer, due);
        timer_armed_ = true;
        return;
    }
    if (timer_armed_) world.set_timer(kModeTimer, std::nullopt);
    timer_armed_ = false;
    dirty_ = false;
    std::string line = summary();
    if (!changed && line == line_) return;  // changed and changed back
    const bool first = printed_ == Mode::starting;
    printed_ = mode;
    printed_at_ = now;
    line_ = std::move(line);
    observer.log(mode == Mode::full ? config::LogLevel::info : config::LogLevel::warn, line_);
    if (first) observer.startup_ended(line_);
}

}  // namespace mainstay::supervisor
