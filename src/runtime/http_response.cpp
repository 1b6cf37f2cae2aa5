#include "runtime/http_response.hpp"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace mainstay::runtime {

namespace http = boost::beast::http;
using boost::system::error_code;

namespace {

// As config::lowercase_first (kept out of this library, which links nothing of config/):
// "Connection reset by peer" -> "connection reset by peer", "EOF" unchanged.
std::string lowercase_first(std::string text) {
    if (text.size() > 1 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'a' && text[1] <= 'z') {
        text[0] = static_cast<char>(text[0] - 'A' + 'a');
    }
    return text;
}

std::string expected_status(const config::StatusRange& range) {
    if (range.low == range.high) return std::to_string(range.low);
    return std::to_string(range.low) + "-" + std::to_string(range.high);
}

}  // namespace

void prepare_response_parser(HttpResponseParser& parser, bool head) {
    parser.body_limit(kHttpProbeBodyLimit);
    parser.header_limit(kHttpProbeHeaderLimit);  // Beast's default, 8 KiB, is tight for servers with big cookies or CSP
    if (head) parser.skip(true);
}

std::string describe_read_failure(const error_code& ec) {
    if (ec == http::error::body_limit) return "response body too large (over 1 MiB)";
    if (ec == http::error::end_of_stream) return "read: connection closed before a response";
    if (ec == http::error::partial_message) return "read: connection closed in the middle of the response";
    if (ec == http::error::header_limit) return "read: response header too large";
    return "read: " + lowercase_first(ec.message());
}

HttpVerdict judge_http_response(int status, std::string_view body, const config::StatusRange& status_range,
                                const std::optional<std::string>& body_contains,
                                const std::vector<int>& permanent_status) {
    const std::string seen = "HTTP " + std::to_string(status);
    if (std::find(permanent_status.begin(), permanent_status.end(), status) != permanent_status.end()) {
        return {false, seen + " (listed in permanent_status)", true};
    }
    if (status < status_range.low || status > status_range.high) {
        return {false, seen + " (expected " + expected_status(status_range) + ")"};
    }
    if (body_contains && body.find(*body_contains) == std::string_view::npos) {
        return {false, "body does not contain \"" + *body_contains + "\""};
    }
    return {true, seen};
}

// As http::async_read does it: the bytes received and not yet consumed are offered to the
// parser; when it needs more, the next chunk is appended; at the end of the stream, put_eof()
// (or end_of_stream when nothing came at all).
HttpVerdict check_http_response(std::string_view bytes, bool head, const config::StatusRange& status_range,
                                const std::optional<std::string>& body_contains, std::size_t chunk) {
    HttpResponseParser parser;
    prepare_response_parser(parser, head);
    chunk = std::max<std::size_t>(chunk, 1);
    std::string buffer;  // received, not consumed yet
    std::size_t received = 0;
    error_code ec;
    while (!parser.is_done()) {
        bool more = false;
        if (!buffer.empty()) {
            const std::size_t used = parser.put(boost::asio::const_buffer(buffer.data(), buffer.size()), ec);
            buffer.erase(0, used);
            if (ec == http::error::need_more) {
                ec = {};
                more = true;
            } else if (ec) {
                return {false, describe_read_failure(ec)};
            }
            if (parser.is_done()) break;
            if (used != 0 && !more) continue;
        }
        if (received == bytes.size()) {
            if (!parser.got_some())
                ec = http::error::end_of_stream;
            else
                parser.put_eof(ec);
            if (ec) return {false, describe_read_failure(ec)};
            break;
        }
        const std::size_t n = std::min(chunk, bytes.size() - received);
        buffer.append(bytes.substr(received, n));
        received += n;
    }
    const auto& response = parser.get();
    return judge_http_response(static_cast<int>(response.result_int()), response.body(), status_range, body_contains);
}

}  // namespace mainstay::runtime
