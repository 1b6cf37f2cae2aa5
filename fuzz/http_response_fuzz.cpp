// Fuzz target: what the http probe concludes from a server that sends these bytes and closes.
// The first byte picks how the bytes arrive (all at once, or in chunks of 1..127 bytes) and
// whether the request was a HEAD; the rest is the response. The verdict must be one of the
// probe's (healthy "HTTP N", or a failure with a detail), and whether it is healthy must not
// depend on the chunks. The detail of a failure may: Boost 1.81's Beast parser calls a
// response with bare LF line ends "bad reason" when it arrives at once but waits for more
// (then "connection closed in the middle of the response") when it arrives in pieces
// (corpus/http_response/lf-only; both unhealthy).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/http_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t mode = data[0];
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    const bool head = (mode & 0x80) != 0;
    const std::size_t chunk = (mode & 0x7f) == 0 ? std::numeric_limits<std::size_t>::max() : (mode & 0x7f);
    const mainstay::config::StatusRange range{200, 399};
    const std::optional<std::string> contains = (mode & 1) != 0 ? std::optional<std::string>("ok") : std::nullopt;
    const auto verdict = mainstay::runtime::check_http_response(bytes, head, range, contains, chunk);
    if (verdict.detail.empty()) __builtin_trap();
    if (verdict.healthy && verdict.detail.rfind("HTTP ", 0) != 0) __builtin_trap();
    if (chunk != std::numeric_limits<std::size_t>::max()) {
        const auto whole = mainstay::runtime::check_http_response(bytes, head, range, contains);
        if (whole.healthy != verdict.healthy) __builtin_trap();
        if (whole.healthy && whole.detail != verdict.detail) __builtin_trap();
    }
    return 0;
}
