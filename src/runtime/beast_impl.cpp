// The one translation unit that compiles Boost.Beast's non-template parts (the HTTP parser's
// tables, field and status names, error categories) once, instead of in every file that uses
// Beast (runtime/probe_http.cpp, report/http_server.cpp): BOOST_BEAST_SEPARATE_COMPILATION,
// defined for every user by the mainstay_asio library.
#include <boost/beast/src.hpp>
