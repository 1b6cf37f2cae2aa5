#include "config/env_file.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "test_support.hpp"

using namespace mainstay::config;

TEST_CASE("env files: KEY=VALUE lines, comments, export, quotes") {
    EnvVars vars;
    Diagnostics d;
    parse_env_text(
        "# a comment\n\nA=1\nexport B = 2\nC='$x # kept'\nD=\"line\\nnext \\\"q\\\"\"\nE=v # comment\nF=a#b\nG=\r\n",
        "x.env", vars, d);
    CHECK(d.all().empty());
    CHECK(vars == EnvVars{{"A", "1"},
                          {"B", "2"},
                          {"C", "$x # kept"},
                          {"D", "line\nnext \"q\""},
                          {"E", "v"},
                          {"F", "a#b"},
                          {"G", ""}});
}

TEST_CASE("env files: an unterminated quote or a NUL byte is an error at its line, never taken silently") {
    EnvVars vars;
    Diagnostics d;
    parse_env_text(std::string("A='open\nB=\"also\nC=x\0y\nD='\nE=ok\n", 31), "x.env", vars, d);
    REQUIRE(d.all().size() == 4);
    CHECK(format(d.sorted()[0]) == "x.env:1:1: error: unterminated quote in the value of A (values span one line)");
    CHECK(format(d.sorted()[1]) == "x.env:2:1: error: unterminated quote in the value of B (values span one line)");
    CHECK(format(d.sorted()[2]) == "x.env:3:1: error: a NUL byte in the value of C");
    CHECK(format(d.sorted()[3]) == "x.env:4:1: error: unterminated quote in the value of D (values span one line)");
    CHECK(vars == EnvVars{{"E", "ok"}});
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

TEST_CASE("env files: only a regular file is read, a device or a FIFO is an error and never blocks the load") {
    const mainstay::testing::TempTree tree;
    const auto fifo = tree.root() / "secrets.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);  // opening it for reading would wait for a writer
    const Mark at{"svc.yaml", 3, 11};
    for (const auto& [file, what] :
         {std::pair<Path, std::string>{"/dev/zero", "a character device"}, {fifo, "a FIFO"}}) {
        EnvVars vars;
        Diagnostics d;
        CHECK_FALSE(read_env_file(file, at, vars, d));
        REQUIRE(d.all().size() == 1);
        CHECK(format(d.sorted()[0]) ==
              "svc.yaml:3:11: error: cannot read env_file " + file.string() + ": it is " + what);
        CHECK(vars.empty());
    }
    // A regular file of more than 1 MiB is not an environment: refused before it is read.
    const auto big = tree.write("big.env", std::string(1024 * 1024 + 1, '#'));
    EnvVars vars;
    Diagnostics d;
    CHECK_FALSE(read_env_file(big, at, vars, d));
    REQUIRE(d.all().size() == 1);
    CHECK(format(d.sorted()[0]) ==
          "svc.yaml:3:11: error: cannot read env_file " + big.string() + ": larger than 1 MiB");
}
