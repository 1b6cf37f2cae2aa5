#include "serve/control_request.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

using namespace mainstay::serve;
using nlohmann::json;

TEST_CASE("control line: a JSON object is a request, trailing blanks and CR ignored") {
    const auto line = parse_control_line("{\"cmd\":\"status\"}\r \t");
    REQUIRE(line.kind == ControlLine::Kind::request);
    CHECK(line.request["cmd"] == "status");
}

TEST_CASE("control line: blank lines are ignored, anything else is malformed") {
    CHECK(parse_control_line("").kind == ControlLine::Kind::blank);
    CHECK(parse_control_line(" \t\r").kind == ControlLine::Kind::blank);
    const auto array = parse_control_line("[1]");
    CHECK(array.kind == ControlLine::Kind::malformed);
    CHECK(array.error == "malformed request: not a JSON object");
    const auto cut = parse_control_line("{\"cmd\":\"sta");
    CHECK(cut.kind == ControlLine::Kind::malformed);
    CHECK(cut.error.rfind("malformed request: parse error", 0) == 0);
    CHECK(cut.error.find("[json.exception") == std::string::npos);
}

TEST_CASE("control request: the fields and their defaults") {
    const auto r = read_control_request(
        json::parse(R"({"cmd":"events","name":"web","names":["a",1,"b"],"since_ms":1500,"follow":true})"));
    CHECK(r.error.empty());
    CHECK(r.cmd == "events");
    CHECK(r.name == "web");
    CHECK(r.follow);
    CHECK_FALSE(r.watch);
    REQUIRE(r.since.has_value());
    CHECK(r.since->count() == 1500);
    CHECK((r.names == std::set<std::string>{"a", "b"}));
    const auto bare = read_control_request(json::parse(R"({"cmd":7,"name":null})"));
    CHECK(bare.error.empty());
    CHECK(bare.cmd.empty());
    CHECK(bare.name.empty());
    CHECK_FALSE(bare.since.has_value());
}

// Found while writing fuzz/control_request_fuzz.cpp: `request.value("watch", false)` threw on a number,
// which the client saw as "internal error: [json.exception.type_error.302] ...".
TEST_CASE("control request: watch or follow that is not a boolean is an error, not an exception") {
    CHECK(read_control_request(json::parse(R"({"cmd":"status","watch":1})")).error == "watch: must be true or false");
    CHECK(read_control_request(json::parse(R"({"cmd":"events","follow":"yes"})")).error ==
          "follow: must be true or false");
    CHECK(read_control_request(json::parse(R"({"cmd":"status","watch":null})")).error.empty());
}

// since_ms went to `steady_clock::now() - milliseconds(get<long long>())`: a float out of the
// range of long long (1e300) is an undefined conversion, and a huge integer overflowed the
// subtraction in nanoseconds.
TEST_CASE("control request: since_ms is clamped to 0 .. 100 years whatever number it is") {
    auto since = [](const char* text) { return read_control_request(json::parse(text)).since; };
    CHECK(since(R"({"since_ms":1e300})") == kMaxSince);
    CHECK(since(R"({"since_ms":18446744073709551615})") == kMaxSince);
    CHECK(since(R"({"since_ms":9223372036854775807})") == kMaxSince);
    CHECK(since(R"({"since_ms":-5})") == std::chrono::milliseconds(0));
    CHECK(since(R"({"since_ms":-1e300})") == std::chrono::milliseconds(0));
    CHECK(since(R"({"since_ms":2.9})") == std::chrono::milliseconds(2));
    CHECK_FALSE(since(R"({"since_ms":"60000"})").has_value());
    // Not a number: refused, not taken as "from the start".
    CHECK(read_control_request(json::parse(R"({"cmd":"events","since_ms":"5m"})")).error ==
          "malformed request: since_ms must be a number of milliseconds");
    // What the handler does with it must not overflow.
    const auto t = std::chrono::steady_clock::now() - kMaxSince;
    CHECK(t < std::chrono::steady_clock::now());
}

TEST_CASE("control request: a key given twice is refused, at any depth, not read as its last value") {
    const auto twice = parse_control_line(R"({"cmd":"status","cmd":"stop","name":"web"})");
    CHECK(twice.kind == ControlLine::Kind::malformed);
    CHECK(twice.error == "malformed request: the key \"cmd\" is given twice");
    const auto nested = parse_control_line(R"({"cmd":"status","x":{"a":1,"a":2}})");
    CHECK(nested.kind == ControlLine::Kind::malformed);
    // The same key in two objects is fine.
    const auto apart = parse_control_line(R"({"cmd":"status","x":{"cmd":1},"y":{"cmd":2}})");
    CHECK(apart.kind == ControlLine::Kind::request);
}
