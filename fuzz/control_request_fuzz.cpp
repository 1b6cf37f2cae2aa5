// Fuzz target: one control socket request line, as the server reads it (parse_control_line)
// and as the daemon's handler reads its fields (read_control_request), and the error line the
// client would get (invalid UTF-8 in it is replaced, never thrown).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "serve/control_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    auto parsed = mainstay::serve::parse_control_line(line);
    nlohmann::json answer;
    if (parsed.kind == mainstay::serve::ControlLine::Kind::malformed) {
        answer = {{"ok", false}, {"error", parsed.error}};
    } else if (parsed.kind == mainstay::serve::ControlLine::Kind::request) {
        const auto request = mainstay::serve::read_control_request(parsed.request);
        if (request.since && (request.since->count() < 0 || *request.since > mainstay::serve::kMaxSince))
            __builtin_trap();
        answer = {
            {"ok", request.error.empty()}, {"error", request.error}, {"cmd", request.cmd}, {"name", request.name}};
    }
    (void)answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return 0;
}
