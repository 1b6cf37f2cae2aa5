// Loading the whole configuration: the main file, every file of `services_dir`, and the
// checks across files (duplicate names, unknown dependencies, cycles, capability requirements).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/interpolate.hpp"
#include "config/schema.hpp"

namespace mainstay::config {

struct LoadOptions {
    std::filesystem::path config_file;
    std::optional<std::filesystem::path> services_dir;  // --services-dir overrides the file's
    std::optional<std::string> log_level;               // --log-level overrides the file's
    Environment env;
    // Only the main file (services_dir is not read): what the client commands (`status`,
    // `why`, ...) need to find the running instance, even while a service file is broken.
    bool main_only{false};
};

struct LoadResult {
    std::optional<Config> config;  // set only when there is no error
    Diagnostics diagnostics;
};

LoadResult load(const LoadOptions& options);

// The configuration file to use: `-c`, else $MAINSTAY_CONFIG, else ./config/mainstay.yaml, else
// /etc/mainstay/mainstay.yaml. `tried` lists what was looked at when nothing is found.
// `with_local_file`: also ./mainstay.yaml, after ./config/mainstay.yaml (the client commands).
std::optional<std::filesystem::path> find_config_file(const std::optional<std::filesystem::path>& explicit_file,
                                                      const Environment& env, std::vector<std::string>& tried,
                                                      bool with_local_file = false);

}  // namespace mainstay::config
