// The one translation unit that compiles Boost.Asio (separate compilation: every other file
// includes only its declarations, which keeps builds fast on 2 cores). It is the whole of the
// mainstay_asio library, which every target doing I/O on the io_context links: the runtime and
// the report servers alike, so Asio is compiled and linked exactly once.
#include <boost/asio/impl/src.hpp>
