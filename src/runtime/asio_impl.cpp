// The one translation unit that compiles Boost.Asio and Boost.Process v2 (separate compilation:
// every other file includes only their declarations, which keeps builds fast on 2 cores).
#include <boost/asio/impl/src.hpp>
#include <boost/process/v2/src.hpp>
