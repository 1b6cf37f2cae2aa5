// How the client commands find the running instance from the main file (config/client_target.hpp):
// only status.socket and status.file are read, whatever else the file holds.
#include "config/client_target.hpp"

#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace mainstay;
using mainstay::testing::TempTree;

TEST_CASE("client target: status.socket and status.file, interpolated, relative to the file's directory") {
    TempTree t;
    const auto file =
        t.write("etc/mainstay.yaml", "status: {socket: \"${RUN:-run}/control.sock\", file: /var/s.json}\n");
    std::string error;
    auto target = config::read_client_target(file, config::Environment{{"RUN", "/srv/run"}}, error);
    REQUIRE(target);
    CHECK(target->socket == "/srv/run/control.sock");
    CHECK(*target->status_file == "/var/s.json");
    target = config::read_client_target(file, config::Environment{}, error);
    REQUIRE(target);
    CHECK(target->socket == t.root() / "etc/run/control.sock");
}

TEST_CASE("client target: errors elsewhere in the file do not matter, a YAML error further down neither") {
    TempTree t;
    const auto file = t.write("mainstay.yaml",
                              "services_dir: [not, a, path]\n"
                              "tyop: 1\n"
                              "status:\n"
                              "  socket: /run/x.sock\n"
                              "  print_interval: soon\n"
                              "log: {level: [\n"
                              "startup: {timeout: 5s\n");
    std::string error;
    auto target = config::read_client_target(file, config::Environment{}, error);
    REQUIRE(target);
    CHECK(target->socket == "/run/x.sock");
}

TEST_CASE("client target: defaults when the file does not say, an error when the socket itself is unusable") {
    TempTree t;
    std::string error;
    auto target = config::read_client_target(t.write("a.yaml", "log: {level: debug}\n"), config::Environment{}, error);
    REQUIRE(target);
    CHECK(target->socket == "/run/mainstay/control.sock");
    CHECK(config::read_client_target(t.write("b.yaml", "status: {socket: \"${NOPE:?set NOPE}\"}\n"),
                                     config::Environment{}, error) == std::nullopt);
    CHECK(error.find("b.yaml:1:18: status.socket: variable NOPE is required: set NOPE") != std::string::npos);
    CHECK(config::read_client_target(t.root() / "absent.yaml", config::Environment{}, error) == std::nullopt);
    CHECK(error == "cannot read " + (t.root() / "absent.yaml").string());
}
