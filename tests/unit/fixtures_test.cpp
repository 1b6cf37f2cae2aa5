// Runs `mainstay check` in-process on every directory of tests/fixtures/bad and good.
//
// bad/<case>/: must exit 2 and print exactly bad/<case>/expected.txt on stderr (paths relative
// to the case directory). good/<case>/: must exit 0; expected.txt, when present, is compared.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "config/loader.hpp"

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
    CHECK(out.str().find(": ok: 3 services, 1 capability") != std::string::npos);
}

namespace {

namespace config = mainstay::config;

config::LoadResult load_shipped(const std::string& main_file, config::Environment env,
                                std::optional<fs::path> services_dir = std::nullopt) {
    config::LoadOptions options;
    options.config_file = fs::path(MAINSTAY_SOURCE_DIR) / main_file;
    options.services_dir = std::move(services_dir);
    options.env = std::move(env);
    return config::load(options);
}

std::string errors_of(const config::LoadResult& r) {
    std::string text;
    for (const auto& d : r.diagnostics.sorted()) text += config::format(d) + "\n";
    return text;
}

std::vector<std::string> names_of(const config::Config& c) {
    std::vector<std::string> names;
    for (const auto& s : c.services) names.push_back(s.name);
    for (const auto& cap : c.capabilities) names.push_back(cap.name);
    return names;
}

}  // namespace

TEST_CASE("the packaged configuration uses /run and /var/log and is valid on the repository's services.d") {
    const auto r = load_shipped("packaging/mainstay.yaml", {}, fs::path(MAINSTAY_SOURCE_DIR) / "services.d");
    INFO(errors_of(r));
    REQUIRE(r.config.has_value());
    CHECK(r.config->main.status.socket == "/run/mainstay/control.sock");
    CHECK(r.config->main.status.file == "/run/mainstay/status.json");
    CHECK(r.config->main.log.file == fs::path("/var/log/mainstay/mainstay.log"));
    CHECK(names_of(*r.config) == std::vector<std::string>{"docker", "invincible-node", "ollama", "llm"});
}

TEST_CASE("the repository's configuration keeps every path in its run directory: run/ or MAINSTAY_RUN_DIR") {
    const fs::path run = (fs::path(MAINSTAY_SOURCE_DIR) / "run").lexically_normal();
    const auto local = load_shipped("config/mainstay.yaml", {});
    INFO(errors_of(local));
    REQUIRE(local.config.has_value());
    CHECK(local.config->main.status.socket.lexically_normal() == run / "control.sock");
    CHECK(local.config->main.status.file.lexically_normal() == run / "status.json");
    CHECK(local.config->main.log.file->lexically_normal() == run / "log" / "mainstay.log");

    const auto elsewhere = load_shipped("config/mainstay.yaml", {{"MAINSTAY_RUN_DIR", "/tmp/somewhere"}});
    REQUIRE(elsewhere.config.has_value());
    CHECK(elsewhere.config->main.status.socket == "/tmp/somewhere/control.sock");
    CHECK(elsewhere.config->main.log.file == fs::path("/tmp/somewhere/log/mainstay.log"));
}

TEST_CASE("the shipped llm has the tiers local, node, cloud, each running the llm-mode hook from MAINSTAY_HOOKS") {
    CHECK(fs::exists(fs::path(MAINSTAY_SOURCE_DIR) / "services.d" / "hooks" / "llm-mode"));
    const auto with_var = load_shipped("config/mainstay.yaml", {{"MAINSTAY_HOOKS", "/h"}});
    REQUIRE(with_var.config.has_value());
    REQUIRE(with_var.config->capabilities.size() == 1);
    const auto& cap = with_var.config->capabilities.front();
    REQUIRE(cap.tiers.size() == 3);
    const std::vector<std::pair<std::string, std::vector<std::string>>> expected{
        {"local", {"ollama"}}, {"node", {"invincible-node"}}, {"cloud", {}}};
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(cap.tiers[i].name == expected[i].first);
        CHECK(cap.tiers[i].requires_services == expected[i].second);
        CHECK(cap.tiers[i].activate ==
              std::optional<config::Argv>(config::Argv{"sh", "/h/llm-mode", expected[i].first}));
    }
    CHECK(cap.tiers[0].check.has_value());
    const auto packaged = load_shipped("config/mainstay.yaml", {});
    REQUIRE(packaged.config.has_value());
    CHECK(packaged.config->capabilities.front().tiers.at(0).activate ==
          std::optional<config::Argv>(config::Argv{"sh", "/etc/mainstay/services.d/hooks/llm-mode", "local"}));
}

TEST_CASE("the demo configuration plays the shipped services, and says which variable is missing") {
    const auto r = load_shipped(
        "packaging/demo/mainstay.yaml",
        {{"MAINSTAY_RUN_DIR", "/tmp/demo"}, {"MAINSTAY_STANDIN", "/bin/test-service"}, {"MAINSTAY_HOOKS", "/h"}});
    INFO(errors_of(r));
    REQUIRE(r.config.has_value());
    CHECK(names_of(*r.config) == std::vector<std::string>{"docker", "invincible-node", "ollama", "llm"});
    CHECK(r.config->main.status.socket == "/tmp/demo/control.sock");
    CHECK_FALSE(r.config->main.status.http.has_value());  // no TCP port: nothing to collide with

    const auto without = load_shipped("packaging/demo/mainstay.yaml", {});
    CHECK_FALSE(without.config.has_value());
    CHECK(errors_of(without).find("set MAINSTAY_RUN_DIR") != std::string::npos);
}
