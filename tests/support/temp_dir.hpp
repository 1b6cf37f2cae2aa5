// A temporary directory of a test, made under the system's temporary directory and removed
// with everything in it at the end of the test. A directory that cannot be made throws (the
// test fails there, not later on a path that is not there).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace mainstay::testing {

struct TempDir {
    explicit TempDir(const std::string& prefix = "mainstay-test") {
        std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot make a directory like " + pattern);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::filesystem::path path;
};

}  // namespace mainstay::testing
