// The http probe: one HTTP/1.1 request, healthy when the status is in the expected range and
// the body contains the expected text (if any).
//
// The request is sent over TCP to the URL's host:port, or over the unix stream socket
// `unix_socket` when set (the Host header still comes from the URL). Headers: Host,
// `User-Agent: mainstay`, `Connection: close`, then the probe's own (which may replace them).
// Connect, send and the whole response share one deadline, the probe's timeout. A response
// body over 1 MiB fails ("response body too large"); a HEAD response has no body. The reading
// of the response: runtime/http_response.hpp.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "config/schema.hpp"
#include "runtime/probe.hpp"

namespace mainstay::runtime {

std::unique_ptr<ProbeAttempt> start_http_probe(boost::asio::io_context& io, const config::HttpProbe& spec,
                                               std::chrono::milliseconds timeout, ProbeDone done);

}  // namespace mainstay::runtime
