// The planned start and stop order of a valid configuration, as text for people.
#pragma once

#include <string>

#include "config/schema.hpp"

namespace mainstay::cli {

std::string describe_plan(const config::Config& config);

}  // namespace mainstay::cli
