// The running instance's Observer: where what the supervisor reports goes.
//
// Its log lines go to the log; each transition to the runtime (a service that stopped for good
// frees its descriptor slot) and to the publisher (the journal, the startup timeline,
// sd_notify's STATUS=); the end of the startup phase to the publisher (READY=1, the table).
// Nothing here waits: each is handed over and the supervisor goes on.
#pragma once

#include <functional>
#include <string>

#include "runtime/logging.hpp"
#include "runtime/real_world.hpp"
#include "serve/publisher.hpp"
#include "supervisor/observer.hpp"

namespace mainstay::serve {

class Reporter final : public supervisor::Observer {
public:
    Reporter(runtime::Logging& logging, runtime::RealWorld& world) : logging_(logging), world_(world) {}

    // The publisher is made after the supervisor (it reads it), so it is named here once both
    // exist, before the supervisor starts. `after_startup` runs once it has heard that the
    // startup phase ended.
    void publish_to(Publisher& publisher, std::function<void()> after_startup) {
        publisher_ = &publisher;
        after_startup_ = std::move(after_startup);
    }

    void log(config::LogLevel level, const std::string& message) override { logging_.log(level, message); }
    void record(const supervisor::Transition& transition) override {
        world_.transition(transition);
        if (publisher_ != nullptr) publisher_->transition(transition);
    }
    // The mode line that ended the startup phase is logged already; systemd gets the counts.
    void startup_ended(const std::string& status) override {
        (void)status;
        if (publisher_ != nullptr) publisher_->ready();
        if (after_startup_) after_startup_();
    }

private:
    runtime::Logging& logging_;
    runtime::RealWorld& world_;
    Publisher* publisher_{nullptr};
    std::function<void()> after_startup_;
};

}  // namespace mainstay::serve
