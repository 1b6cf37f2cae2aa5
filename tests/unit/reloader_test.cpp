// Reloader: the configuration is read off the loop thread (the loop keeps running handlers while
// a read is under way), requests during a read are coalesced into one more read, and a read
// still under way when the Reloader goes is never applied. The reads here wait on the test's
// own gates, not on time.
#include "runtime/reloader.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace mainstay;
using namespace mainstay::runtime;

namespace {

// Reads that wait until the test opens them, one at a time.
struct Gate {
    std::mutex mutex;
    std::condition_variable cv;
    int opened{0};
    int started{0};

    config::LoadResult read() {
        std::unique_lock lock(mutex);
        const int mine = started++;
        cv.notify_all();
        cv.wait(lock, [&] { return opened > mine; });
        return {};
    }
    void open() {
        std::lock_guard lock(mutex);
        ++opened;
        cv.notify_all();
    }
    void wait_started(int n) {
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return started >= n; });
    }
};

// Runs the loop until `done` holds (each handler may change it).
void run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
    while (!done()) {
        io.restart();
        io.run_one();
    }
}

}  // namespace

TEST_CASE("a read under way does not hold up the loop") {
    boost::asio::io_context io;
    Gate gate;
    int applied = 0;
    Reloader reloader(
        io, [&] { return gate.read(); },
        [&](config::LoadResult) {
            ++applied;
            return nlohmann::json{{"ok", true}};
        });
    std::vector<nlohmann::json> answers;
    reloader.request([&](const nlohmann::json& a) { answers.push_back(a); });
    gate.wait_started(1);
    CHECK(reloader.reading());
    // The loop runs other work while the read waits.
    bool other = false;
    boost::asio::post(io, [&] { other = true; });
    io.run_one();
    CHECK(other);
    CHECK(applied == 0);
    gate.open();
    run_until(io, [&] { return applied == 1; });
    CHECK_FALSE(reloader.reading());
    REQUIRE(answers.size() == 1);
    CHECK(answers[0]["ok"] == true);
}

TEST_CASE("twenty requests during a read make one more read, whose answer all waiting get") {
    boost::asio::io_context io;
    Gate gate;
    int applied = 0;
    Reloader reloader(
        io, [&] { return gate.read(); },
        [&](config::LoadResult) {
            ++applied;
            return nlohmann::json{{"read", applied}};
        });
    std::vector<int> first, later;
    reloader.request([&](const nlohmann::json& a) { first.push_back(a["read"].get<int>()); });
    gate.wait_started(1);
    for (int i = 0; i < 19; ++i) reloader.request(nullptr);  // SIGHUPs
    reloader.request([&](const nlohmann::json& a) { later.push_back(a["read"].get<int>()); });
    reloader.request([&](const nlohmann::json& a) { later.push_back(a["read"].get<int>()); });
    CHECK(reloader.reads() == 1);
    gate.open();
    run_until(io, [&] { return applied == 1; });
    CHECK(first == std::vector<int>{1});
    CHECK(later.empty());  // the files may have changed after the first read began
    gate.wait_started(2);
    CHECK(reloader.reads() == 2);
    gate.open();
    run_until(io, [&] { return applied == 2; });
    CHECK(later == std::vector<int>{2, 2});
    CHECK_FALSE(reloader.reading());
    CHECK(reloader.reads() == 2);
}

TEST_CASE("a read still under way when the reloader goes is never applied") {
    boost::asio::io_context io;
    auto gate = std::make_shared<Gate>();  // the reading thread may outlive this test's frame
    int applied = 0;
    {
        Reloader reloader(
            io, [gate] { return gate->read(); },
            [&](config::LoadResult) {
                ++applied;
                return nlohmann::json{};
            });
        reloader.request(nullptr);
        gate->wait_started(1);
    }
    gate->open();
    // Whatever the thread does now, it sees the reloader gone and posts nothing.
    io.restart();
    io.poll();
    CHECK(applied == 0);
}
