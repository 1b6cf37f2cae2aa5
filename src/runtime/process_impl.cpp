// The one translation unit that compiles Boost.Process v2 (separate compilation, like Asio in
// asio_impl.cpp; only runtime/spawner.cpp uses Process).
//
// Process 1.81's default_launcher calls asio::detail::throw_error without including it (it
// compiled only after Asio's own sources): include it first.
#include <boost/asio/detail/throw_error.hpp>
#include <boost/process/v2/src.hpp>
