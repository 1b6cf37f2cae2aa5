#include "resilience/params.hpp"

namespace mainstay::resilience {

std::string_view to_string(Jitter jitter) {
    switch (jitter) {
        case Jitter::none: return "none";
        case Jitter::full: return "full";
        case Jitter::equal: return "equal";
        case Jitter::decorrelated: return "decorrelated";
        case Jitter::proportional: return "proportional";
    }
    return "?";
}

std::string_view to_string(BackoffStrategy strategy) {
    switch (strategy) {
        case BackoffStrategy::exponential: return "exponential";
        case BackoffStrategy::linear: return "linear";
        case BackoffStrategy::constant: return "constant";
    }
    return "?";
}

}  // namespace mainstay::resilience
