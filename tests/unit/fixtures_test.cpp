// Runs `mainstay check` in-process on every directory of tests/fixtures/bad and good.
//
// bad/<case>/: must exit 2 and print exactly bad/<case>/expected.txt on stderr (paths relative
// to the case directory). good/<case>/: must exit 0; expected.txt, when present, is compared.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli.hpp"

namespace fs = std::filesystem;

namespace {

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

Outcome check(const fs::path& dir) {
    std::string config = (dir / "mainstay.yaml").string();
    const char* argv[] = {"mainstay", "check", "-c", config.c_str()};
    std::ostringstream out, err;
    mainstay::config::Environment env({{"PATH", "/nonexistent"}});
    int code = mainstay::cli::run(4, argv, out, err, env);
    std::string text = err.str();
    const std::string prefix = dir.string() + "/";
    for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix)) text.erase(at, prefix.size());
    return {code, out.str(), text};
}

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<fs::path> cases(const char* kind) {
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(fs::path(MAINSTAY_FIXTURES_DIR) / kind)) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    return dirs;
}

}  // namespace

TEST_CASE("every bad fixture exits 2 with exactly its expected diagnostics") {
    auto dirs = cases("bad");
    CHECK(dirs.size() >= 20);
    for (const auto& dir : dirs) {
        INFO("fixture: " << dir.filename().string());
        REQUIRE(fs::exists(dir / "expected.txt"));
        Outcome o = check(dir);
        CHECK(o.code == 2);
        CHECK(o.err == read(dir / "expected.txt"));
        CHECK(o.out.empty());
    }
}

TEST_CASE("a file with five errors prints five") {
    Outcome o = check(fs::path(MAINSTAY_FIXTURES_DIR) / "bad/five_errors");
    CHECK(std::count(o.err.begin(), o.err.end(), '\n') == 5);
    CHECK(o.code == 2);
}

TEST_CASE("every good fixture exits 0, with its expected warnings when listed") {
    for (const auto& dir : cases("good")) {
        INFO("fixture: " << dir.filename().string());
        Outcome o = check(dir);
        CHECK(o.code == 0);
        CHECK(o.out.find(": ok: ") != std::string::npos);
        if (fs::exists(dir / "expected.txt")) CHECK(o.err == read(dir / "expected.txt"));
    }
}

TEST_CASE("the shipped configuration is valid") {
    std::string config = std::string(MAINSTAY_SOURCE_DIR) + "/config/mainstay.yaml";
    const char* argv[] = {"mainstay", "check", "-c", config.c_str()};
    std::ostringstream out, err;
    int code = mainstay::cli::run(4, argv, out, err, mainstay::config::Environment());
    INFO(err.str());
    CHECK(code == 0);
    CHECK(out.str().find(": ok: 3 services, 1 capabilities") != std::string::npos);
}
