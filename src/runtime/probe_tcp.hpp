// The tcp probe: healthy when a TCP connection to host:port is accepted (then closed at once).
//
// The host may be a name (resolved asynchronously; every address is tried in turn) or an IPv4
// or IPv6 literal (no resolver involved). A peer that never completes the handshake (a full
// backlog, a blackholed address) fails with "timed out after <timeout>".
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "config/schema.hpp"
#include "runtime/probe.hpp"

namespace mainstay::runtime {

std::unique_ptr<ProbeAttempt> start_tcp_probe(boost::asio::io_context& io, const config::TcpProbe& spec,
                                              std::chrono::milliseconds timeout, ProbeDone done);

}  // namespace mainstay::runtime
