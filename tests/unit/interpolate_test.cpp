#include "config/interpolate.hpp"

#include <doctest/doctest.h>

using namespace mainstay::config;

namespace {
Environment env() {
    return Environment({{"HOST", "gpu1"}, {"EMPTY", ""}, {"PORT", "8080"}});
}
}  // namespace

TEST_CASE("${VAR} is replaced, $$ is a literal dollar, lone $ is kept") {
    auto r = interpolate("http://${HOST}:${PORT}/", env());
    CHECK(r.text == "http://gpu1:8080/");
    CHECK(r.warnings.empty());
    CHECK(r.errors.empty());
    CHECK(interpolate("cost: $$5 and $HOME and $", env()).text == "cost: $5 and $HOME and $");
    CHECK(interpolate("$${HOST}", env()).text == "${HOST}");
}

TEST_CASE("an unset ${VAR} becomes empty with a warning, a set empty one without") {
    auto r = interpolate("[${MISSING}]", env());
    CHECK(r.text == "[]");
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0] == "variable MISSING is not set; using an empty string");
    CHECK(interpolate("[${EMPTY}]", env()).warnings.empty());
}

TEST_CASE(":- defaults when unset or empty, - only when unset") {
    CHECK(interpolate("${MISSING:-d}", env()).text == "d");
    CHECK(interpolate("${EMPTY:-d}", env()).text == "d");
    CHECK(interpolate("${HOST:-d}", env()).text == "gpu1");
    CHECK(interpolate("${MISSING-d}", env()).text == "d");
    CHECK(interpolate("${EMPTY-d}", env()).text == "");
    CHECK(interpolate("${MISSING:-${HOST}:${PORT}}", env()).text == "gpu1:8080");
    CHECK(interpolate("${MISSING:-}", env()).text == "");
}

TEST_CASE(":? is an error when unset or empty, ? only when unset") {
    auto r = interpolate("${MISSING:?set the node address}", env());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0] == "variable MISSING is required: set the node address");
    CHECK(interpolate("${EMPTY:?}", env()).errors.at(0) == "variable EMPTY is required (unset or empty)");
    CHECK(interpolate("${EMPTY?}", env()).errors.empty());
    CHECK(interpolate("${HOST:?x}", env()).text == "gpu1");
}

TEST_CASE("an unterminated ${ and a malformed expression are errors") {
    CHECK(interpolate("${HOST", env()).errors.at(0) == "unterminated '${' in '${HOST'");
    CHECK(interpolate("${}", env()).errors.at(0) == "invalid interpolation '${}': expected a variable name");
    CHECK(interpolate("${HOST:+x}", env()).errors.size() == 1);
}

TEST_CASE("defaults nest 32 levels deep, deeper is an error and not a stack overflow (20,000 levels)") {
    auto nested = [](int n) {
        std::string s;
        for (int i = 0; i < n; ++i) s += "${UNSET_" + std::to_string(i) + ":-";
        s += "x";
        s += std::string(static_cast<std::size_t>(n), '}');
        return s;
    };
    auto ok = interpolate(nested(32), env());
    CHECK(ok.errors.empty());
    CHECK(ok.text == "x");
    auto deep = interpolate(nested(33), env());
    REQUIRE(deep.errors.size() == 1);
    CHECK(deep.errors[0] == "interpolation nested more than 32 levels deep");
    auto hostile = interpolate(nested(20000), env());
    REQUIRE(hostile.errors.size() == 1);
    CHECK(hostile.errors[0] == "interpolation nested more than 32 levels deep");
}
