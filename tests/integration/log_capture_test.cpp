// The output reader of one process: lines, end of file, finish(), and nothing kept afterwards.
#include "runtime/log_capture.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <string>
#include <vector>

using mainstay::runtime::Delivery;
using mainstay::runtime::LogCapture;

namespace {

struct Pipe {
    int read{-1}, write{-1};
    Pipe() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        read = fds[0];
        write = fds[1];
    }
    void put(const std::string& s) { REQUIRE(::write(write, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }
    void close_write() {
        ::close(write);
        write = -1;
    }
    ~Pipe() {
        if (write != -1) ::close(write);
    }
};

// Runs `io` in short turns until `done` holds (true) or 10 s pass (false).
bool pump_until(boost::asio::io_context& io, const std::function<bool()>& done) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
        if (std::chrono::steady_clock::now() >= end) return false;
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    return true;
}

}  // namespace

TEST_CASE("a capture splits lines, and once finished or at end of file nothing of it stays allocated") {
    const std::size_t before = LogCapture::live();
    boost::asio::io_context io;
    std::vector<std::string> lines;
    {
        // Ended by finish() while the writer still holds the pipe (a daemon left behind).
        Pipe p;
        auto capture = std::make_unique<LogCapture>(io, p.read, [&](std::string_view l) { lines.emplace_back(l); });
        p.put("one\ntw");
        io.run_for(std::chrono::milliseconds(20));
        p.put("o\nthree");
        capture->finish();
        CHECK(capture->finished());
        capture.reset();
        io.restart();
        io.run_for(std::chrono::milliseconds(20));
    }
    CHECK(lines == std::vector<std::string>{"one", "two", "three"});
    CHECK(LogCapture::live() == before);
    {
        // Ended by end of file, then finished and destroyed as the exit is handled.
        Pipe p;
        auto capture = std::make_unique<LogCapture>(io, p.read, [&](std::string_view l) { lines.emplace_back(l); });
        p.put("last\n");
        p.close_write();
        io.restart();
        io.run_for(std::chrono::milliseconds(20));
        CHECK(capture->finished());
        capture->finish();
        capture.reset();
        io.restart();
        io.run_for(std::chrono::milliseconds(20));
    }
    CHECK(lines.back() == "last");
    CHECK(LogCapture::live() == before);
    for (int i = 0; i < 100; ++i) {
        // Finished while a wait is pending and nothing was written.
        Pipe p;
        auto capture = std::make_unique<LogCapture>(io, p.read, [](std::string_view) {});
        io.restart();
        io.poll();
        capture->finish();
    }
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
    CHECK(LogCapture::live() == before);
}

TEST_CASE("a capture finished from inside a handler, while its wait is pending, is freed") {
    const std::size_t before = LogCapture::live();
    boost::asio::io_context io;
    for (int i = 0; i < 50; ++i) {
        Pipe p;
        auto capture = std::make_unique<LogCapture>(io, p.read, [](std::string_view) {});
        io.restart();
        io.poll();
        boost::asio::post(io, [&] {
            capture->finish();
            capture.reset();
        });
        io.restart();
        io.run_one();
    }
    io.restart();
    for (int i = 0; i < 200 && LogCapture::live() != before; ++i) io.run_one_for(std::chrono::milliseconds(10));
    CHECK(LogCapture::live() == before);
}

TEST_CASE("in blocks, the whole lines of one read come in one call, and the lines are the same") {
    boost::asio::io_context io;
    std::vector<std::string> calls;
    Pipe p;
    auto capture = std::make_unique<LogCapture>(
        io, p.read, [&](std::string_view block) { calls.emplace_back(block); }, Delivery::blocks);
    p.put("one\ntwo\nthr");
    REQUIRE(pump_until(io, [&] { return calls.size() == 1; }));
    CHECK(calls == std::vector<std::string>{"one\ntwo"});
    p.put("ee\n\nfour\n");  // the line begun before, an empty one, then one more
    REQUIRE(pump_until(io, [&] { return calls.size() == 3; }));
    CHECK(calls == std::vector<std::string>{"one\ntwo", "three", "\nfour"});
    p.put("\nfive");
    capture->finish();
    CHECK(calls == std::vector<std::string>{"one\ntwo", "three", "\nfour", "", "five"});
}
