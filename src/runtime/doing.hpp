// What the event loop is doing right now, for the one exception boundary around it.
//
// Each place that hands an OS event to the supervisor (an exit, a timer, a probe result, a
// signal, a line of output) opens a `Doing` frame. When a handler throws, the frame it was in
// is kept (the destructor sees the exception in flight), so the loop's catch can say what was
// being done: "error while handling the timer of web: ...". Two stores per event, no allocation.
#pragma once

#include <exception>
#include <string>

namespace mainstay::runtime {

class Doing {
public:
    explicit Doing(const char* what, const std::string* name = nullptr, long long number = -1)
        : previous_(current_), exceptions_(std::uncaught_exceptions()) {
        current_ = {what, name, number};
    }
    ~Doing() {
        if (std::uncaught_exceptions() == exceptions_) current_ = previous_;
    }
    Doing(const Doing&) = delete;
    Doing& operator=(const Doing&) = delete;

    // "handling the timer of web", "handling the exit of pid 42"; then back to idle.
    static std::string take() {
        std::string text = current_.what;
        if (current_.name != nullptr) text += " " + *current_.name;
        if (current_.number >= 0) text += " " + std::to_string(current_.number);
        current_ = {"running the event loop", nullptr, -1};
        return text;
    }

private:
    struct Frame {
        const char* what;
        const std::string* name;
        long long number;
    };
    static inline thread_local Frame current_{"running the event loop", nullptr, -1};
    Frame previous_;
    int exceptions_;
};

}  // namespace mainstay::runtime
