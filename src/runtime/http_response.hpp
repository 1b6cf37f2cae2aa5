// The http probe's reading of a response, apart from the socket: how its Beast parser is set up,
// what a read error means, and the verdict on a complete response. The probe (probe_http.cpp)
// reads with these; check_http_response() runs the same steps on bytes in memory, for the unit
// tests and the fuzz target (fuzz/http_response_fuzz.cpp).
#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/values.hpp"

namespace mainstay::runtime {

inline constexpr std::size_t kHttpProbeBodyLimit = 1024 * 1024;
inline constexpr std::size_t kHttpProbeHeaderLimit = 64 * 1024;

using HttpResponseParser = boost::beast::http::response_parser<boost::beast::http::string_body>;

// The probe's limits (body over 1 MiB, header over 64 KiB fail); a HEAD response has no body.
void prepare_response_parser(HttpResponseParser& parser, bool head);

// What a read error is called in the probe's result: "response body too large (over 1 MiB)",
// "read: connection closed before a response", ...
std::string describe_read_failure(const boost::system::error_code& ec);

struct HttpVerdict {
    bool healthy{false};
    std::string detail;     // "HTTP 200" when healthy, else why not
    bool permanent{false};  // the status is in `permanent_status`
};

// A complete response: healthy when the status is in `status` and the body contains
// `body_contains` (if any).
HttpVerdict judge_http_response(int status, std::string_view body, const config::StatusRange& status_range,
                                const std::optional<std::string>& body_contains,
                                const std::vector<int>& permanent_status = {});

// The probe's verdict when a server sends `bytes`, `chunk` bytes at a time, then closes.
HttpVerdict check_http_response(std::string_view bytes, bool head, const config::StatusRange& status_range,
                                const std::optional<std::string>& body_contains,
                                std::size_t chunk = std::numeric_limits<std::size_t>::max());

}  // namespace mainstay::runtime
