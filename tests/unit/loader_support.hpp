// What the loader tests share (loader_test.cpp, loader_keys_test.cpp): a configuration directory
// read by the real loader, its messages as one text, a service found by name.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "config/loader.hpp"
#include "test_support.hpp"

namespace loader_support {

using namespace mainstay::config;
using mainstay::testing::TempTree;

inline const std::filesystem::path kComplete = std::filesystem::path(MAINSTAY_FIXTURES_DIR) / "good/complete";

inline LoadResult load_dir(const std::filesystem::path& dir, Environment env = {}) {
    return load({dir / "mainstay.yaml", std::nullopt, std::nullopt, std::move(env)});
}

inline bool contains_text(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Every diagnostic, formatted ("FILE:LINE:COL: error: ..."), one per line.
inline std::string all_messages(const Diagnostics& d) {
    std::string out;
    for (const auto& x : d.sorted()) out += format(x) + "\n";
    return out;
}

inline const ServiceSpec& service(const Config& c, std::string_view name) {
    const ServiceSpec* s = c.find_service(name);
    REQUIRE(s != nullptr);
    return *s;
}

}  // namespace loader_support
