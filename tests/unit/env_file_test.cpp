#include <doctest/doctest.h>

#include "config/env_file.hpp"

using namespace mainstay::config;

TEST_CASE("env files: KEY=VALUE lines, comments, export, quotes") {
    EnvVars vars;
    Diagnostics d;
    parse_env_text("# a comment\n\nA=1\nexport B = 2\nC='$x # kept'\nD=\"line\\nnext \\\"q\\\"\"\nE=v # comment\nF=a#b\nG=\r\n",
                   "x.env", vars, d);
    CHECK(d.all().empty());
    CHECK(vars == EnvVars{{"A", "1"}, {"B", "2"}, {"C", "$x # kept"}, {"D", "line\nnext \"q\""}, {"E", "v"}, {"F", "a#b"}, {"G", ""}});
}

TEST_CASE("env files: a bad line is reported at its own line and column, the rest still read") {
    EnvVars vars;
    Diagnostics d;
    parse_env_text("A=1\n  not a pair\n9X=2\nB=3\n", "x.env", vars, d);
    REQUIRE(d.all().size() == 2);
    CHECK(format(d.sorted()[0]) == "x.env:2:3: error: expected KEY=VALUE");
    CHECK(format(d.sorted()[1]) == "x.env:3:1: error: expected KEY=VALUE");
    CHECK(vars == EnvVars{{"A", "1"}, {"B", "3"}});
}
