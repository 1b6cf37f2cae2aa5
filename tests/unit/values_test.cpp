#include "config/values.hpp"

#include <doctest/doctest.h>

#include <csignal>

using namespace mainstay::config;
using std::chrono::milliseconds;

TEST_CASE("durations accept units, combinations, decimals and bare seconds") {
    CHECK(*parse_duration("500ms").value == milliseconds(500));
    CHECK(*parse_duration("10s").value == milliseconds(10'000));
    CHECK(*parse_duration("5m").value == milliseconds(300'000));
    CHECK(*parse_duration("1h").value == milliseconds(3'600'000));
    CHECK(*parse_duration("1m30s").value == milliseconds(90'000));
    CHECK(*parse_duration("1h2m3s4ms").value == milliseconds(3'723'004));
    CHECK(*parse_duration("1.5s").value == milliseconds(1500));
    CHECK(*parse_duration("30").value == milliseconds(30'000));
    CHECK(*parse_duration("0.25").value == milliseconds(250));
    CHECK(*parse_duration("0").value == milliseconds(0));
}

TEST_CASE("durations reject negatives, unknown units and garbage with the accepted forms") {
    CHECK(parse_duration("-1s").error == "a non-negative duration, got '-1s'");
    CHECK(parse_duration("10 seconds").error == "a duration such as 500ms, 10s, 5m, 1h or 1m30s, got '10 seconds'");
    CHECK_FALSE(parse_duration("5d"));
    CHECK_FALSE(parse_duration("s"));
    CHECK_FALSE(parse_duration(""));
    CHECK_FALSE(parse_duration("1.s"));
    CHECK_FALSE(parse_duration("1m30"));
}

TEST_CASE("format_duration spells a duration so that it parses back") {
    CHECK(format_duration(milliseconds(90'000)) == "1m30s");
    CHECK(format_duration(milliseconds(0)) == "0s");
    CHECK(format_duration(milliseconds(3'600'250)) == "1h250ms");
    for (auto ms : {1, 999, 1000, 61'001, 7'322'000}) {
        CHECK(*parse_duration(format_duration(milliseconds(ms))).value == milliseconds(ms));
    }
}

TEST_CASE("sizes accept bytes and binary and decimal units") {
    CHECK(*parse_size("4096").value == 4096u);
    CHECK(*parse_size("10B").value == 10u);
    CHECK(*parse_size("512KiB").value == 512u * 1024);
    CHECK(*parse_size("10MiB").value == 10u * 1024 * 1024);
    CHECK(*parse_size("1GiB").value == 1024ull * 1024 * 1024);
    CHECK(*parse_size("2KB").value == 2000u);
    CHECK(*parse_size("3MB").value == 3'000'000u);
    CHECK(*parse_size("1GB").value == 1'000'000'000u);
    CHECK(*parse_size("10 MiB").value == 10u * 1024 * 1024);
    CHECK_FALSE(parse_size("10mb"));
    CHECK_FALSE(parse_size("-1"));
    CHECK_FALSE(parse_size("MiB"));
}

TEST_CASE("signals by full name, short name or number") {
    CHECK(*parse_signal("SIGTERM").value == SIGTERM);
    CHECK(*parse_signal("TERM").value == SIGTERM);
    CHECK(*parse_signal("SIGKILL").value == SIGKILL);
    CHECK(*parse_signal("HUP").value == SIGHUP);
    CHECK(*parse_signal("10").value == 10);
    CHECK_FALSE(parse_signal("SIGFOO"));
    CHECK_FALSE(parse_signal("0"));
    CHECK_FALSE(parse_signal("65"));
    CHECK_FALSE(parse_signal("sigterm"));
    CHECK(signal_name(SIGINT) == "SIGINT");
}

TEST_CASE("integers are decimal: a leading zero is not octal") {
    CHECK(*parse_integer("010").value == 10);
    CHECK(*parse_integer("-3").value == -3);
    CHECK_FALSE(parse_integer("0x10"));
    CHECK_FALSE(parse_integer("1.5"));
    CHECK_FALSE(parse_integer("99999999999999999999"));
}

TEST_CASE("booleans accept true/false and yes/no/on/off in any case") {
    CHECK(*parse_bool("true").value);
    CHECK(*parse_bool("Yes").value);
    CHECK_FALSE(*parse_bool("off").value);
    CHECK_FALSE(*parse_bool("FALSE").value);
    CHECK_FALSE(parse_bool("maybe"));
    CHECK_FALSE(parse_bool("1"));
}

TEST_CASE("commands split into words like a shell, without expansion") {
    using W = std::vector<std::string>;
    CHECK(*split_words("ollama serve").value == W{"ollama", "serve"});
    CHECK(*split_words("  a   b\tc  ").value == W{"a", "b", "c"});
    CHECK(*split_words("echo 'a b' \"c d\"").value == W{"echo", "a b", "c d"});
    CHECK(*split_words("x='1 2'").value == W{"x=1 2"});
    CHECK(*split_words(R"(a\ b "q\"x" '\n' $HOME)").value == W{"a b", "q\"x", "\\n", "$HOME"});
    CHECK(*split_words("'' x").value == W{"", "x"});
    CHECK(split_words("").value->empty());
    CHECK(split_words("echo 'oops").error == "a command with matching quotes: unterminated '");
    CHECK_FALSE(split_words("echo \"oops"));
}

TEST_CASE("host:port and http URLs") {
    auto hp = parse_host_port("127.0.0.1:9077");
    REQUIRE(hp);
    CHECK(hp.value->host == "127.0.0.1");
    CHECK(hp.value->port == 9077);
    CHECK(parse_host_port("[::1]:80").value->host == "::1");
    CHECK(parse_host_port("h:0").error == "a port from 1 to 65535, got 0");
    CHECK_FALSE(parse_host_port("h:65536"));
    CHECK_FALSE(parse_host_port("localhost"));
    CHECK_FALSE(parse_host_port(":80"));

    auto url = parse_http_url("http://127.0.0.1:11434/api/version");
    REQUIRE(url);
    CHECK(url.value->host == "127.0.0.1");
    CHECK(url.value->port == 11434);
    CHECK(url.value->target == "/api/version");
    auto bare = parse_http_url("http://localhost");
    REQUIRE(bare);
    CHECK(bare.value->port == 80);
    CHECK(bare.value->target == "/");
    CHECK(parse_http_url("http://h?x=1").value->target == "/?x=1");
    CHECK(parse_http_url("http://[::1]:8080/p").value->host == "::1");
    CHECK(parse_http_url("https://example.com/").error ==
          "an http:// URL (https is not supported for probes), got 'https://example.com/'");
    CHECK_FALSE(parse_http_url("http:///path"));
    CHECK_FALSE(parse_http_url("http://h:99999/"));
}

TEST_CASE("status is a code or a LOW-HIGH range within 100-599") {
    CHECK(parse_status_range("200").value->low == 200);
    CHECK(parse_status_range("200").value->high == 200);
    CHECK(parse_status_range("200-399").value->high == 399);
    CHECK_FALSE(parse_status_range("400-200"));
    CHECK_FALSE(parse_status_range("99"));
    CHECK_FALSE(parse_status_range("200-600"));
    CHECK_FALSE(parse_status_range("ok"));
}

TEST_CASE("names follow [a-z0-9][a-z0-9_.-]*") {
    CHECK(is_valid_name("ollama"));
    CHECK(is_valid_name("invincible-node"));
    CHECK(is_valid_name("0x.y_z"));
    CHECK_FALSE(is_valid_name(""));
    CHECK_FALSE(is_valid_name("-a"));
    CHECK_FALSE(is_valid_name("Ollama"));
    CHECK_FALSE(is_valid_name("a b"));
}

TEST_CASE("the nearest key is suggested only when it is a likely typo") {
    std::vector<std::string> keys{"command", "condition", "description", "timeout"};
    CHECK(nearest("comand", keys) == "command");
    CHECK(nearest("timout", keys) == "timeout");
    CHECK(nearest("descripton", keys) == "description");
    CHECK_FALSE(nearest("zzz", keys));
    CHECK_FALSE(nearest("x", {}));
}
