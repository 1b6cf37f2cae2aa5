// Host name lookups that can never hold up mainstay's exit.
//
// Asio's resolver runs getaddrinfo on a thread that the io_context joins when it is destroyed:
// a lookup stuck on an unreachable DNS server then delays the end of mainstay by the resolver's
// full timeout. Here each lookup runs on a detached thread of its own, and its result is posted
// back to the io_context only while that context lives (a service of the context closes the
// gate in its shutdown). A lookup still running at exit is simply abandoned. At most
// kMaxLookups run at once; beyond that a lookup fails at once.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>
#include <vector>

namespace mainstay::runtime {

inline constexpr int kMaxLookups = 32;

using Endpoints = std::vector<boost::asio::ip::tcp::endpoint>;
// The endpoints of host:port, or an error text ("Name or service not known").
using LookupResult = std::function<void(const Endpoints& endpoints, const std::string& error)>;
// What runs on the lookup thread; getaddrinfo unless a test passes another.
using LookupFunction = std::function<Endpoints(const std::string& host, int port, std::string& error)>;

Endpoints system_lookup(const std::string& host, int port, std::string& error);

// Looks host:port up off the event loop; `done` runs on `io`'s thread, never after `io` is gone.
void lookup(boost::asio::io_context& io, const std::string& host, int port, LookupResult done,
            LookupFunction how = system_lookup);

}  // namespace mainstay::runtime
