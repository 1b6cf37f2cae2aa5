// The checks of `mainstay check` against this machine: warnings, never errors.
#include "config/machine_checks.hpp"

#include <doctest/doctest.h>

#include "config/loader.hpp"
#include "test_support.hpp"

using namespace mainstay::config;
using mainstay::testing::TempTree;

namespace {

std::string machine_warnings(const std::filesystem::path& dir) {
    auto r = load({dir / "mainstay.yaml", std::nullopt, std::nullopt, Environment({{"PATH", "/usr/bin:/bin"}})});
    std::string out;
    for (const auto& d : r.diagnostics.sorted()) out += format(d) + "\n";
    REQUIRE_MESSAGE(r.config, out);
    Diagnostics diags;
    check_machine(*r.config, Environment({{"PATH", "/usr/bin:/bin"}}), diags);
    out.clear();
    for (const auto& d : diags.sorted()) out += format(d) + "\n";
    return out;
}

}  // namespace

TEST_CASE("an unknown user or group is a warning at its value, like a missing executable") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    auto a = t.write("services.d/a.yaml", "command: [sh]\nuser: no-such-user-mainstay\n");
    auto b =
        t.write("services.d/b.yaml", "command: [sh]\nuser: no-such-user-mainstay\ngroup: no-such-group-mainstay\n");
    auto c = t.write("services.d/c.yaml", "command: [sh]\nuser: root\ngroup: no-such-group-mainstay\n");
    t.write("services.d/d.yaml", "command: [sh]\nuser: root\ngroup: root\n");
    CHECK(machine_warnings(t.root()) == a.string() + ":2:7: warning: unknown user: no-such-user-mainstay\n" +
                                            b.string() + ":2:7: warning: unknown user: no-such-user-mainstay\n" +
                                            b.string() + ":3:8: warning: unknown group: no-such-group-mainstay\n" +
                                            c.string() + ":3:8: warning: unknown group: no-such-group-mainstay\n");
}

TEST_CASE("a disabled service's unknown user is not reported") {
    TempTree t;
    t.write("mainstay.yaml", "{}\n");
    t.write("services.d/a.yaml", "command: [sh]\nenabled: false\nuser: no-such-user-mainstay\n");
    CHECK(machine_warnings(t.root()).empty());
}
