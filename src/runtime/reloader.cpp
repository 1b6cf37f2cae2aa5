#include "runtime/reloader.hpp"

#include <boost/asio/post.hpp>
#include <mutex>
#include <system_error>
#include <thread>

namespace mainstay::runtime {

// What the reading thread and the loop share: whether the loop still wants the result. The
// thread posts only under the lock and only while wanted, so it never posts to a loop that is
// gone.
struct Reloader::Shared {
    std::mutex mutex;
    bool abandoned{false};
};

Reloader::Reloader(boost::asio::io_context& io, std::function<config::LoadResult()> load,
                   std::function<nlohmann::json(config::LoadResult)> apply)
    : io_(io), load_(std::move(load)), apply_(std::move(apply)), shared_(std::make_shared<Shared>()) {}

Reloader::~Reloader() {
    std::lock_guard lock(shared_->mutex);
    shared_->abandoned = true;
}

void Reloader::request(Answer answer) {
    if (reading_) {
        again_ = true;
        if (answer) next_.push_back(std::move(answer));
        return;
    }
    if (answer) current_.push_back(std::move(answer));
    begin();
}

void Reloader::begin() {
    reading_ = true;
    ++reads_;
    auto shared = shared_;
    auto post_result = [this, shared](config::LoadResult result) {
        std::lock_guard lock(shared->mutex);
        if (shared->abandoned) return;
        auto boxed = std::make_shared<config::LoadResult>(std::move(result));
        boost::asio::post(io_, [this, shared, boxed] {
            if (!shared->abandoned) finished(std::move(*boxed));
        });
    };
    try {
        std::thread([load = load_, post_result] { post_result(load()); }).detach();
    } catch (const std::system_error&) {
        // No thread to be had (a thread limit): read here, on the loop, rather than not at all.
        post_result(load_());
    }
}

void Reloader::finished(config::LoadResult result) {
    reading_ = false;
    const nlohmann::json answer = apply_(std::move(result));
    for (const auto& a : current_) a(answer);
    current_.clear();
    if (again_) {
        again_ = false;
        current_ = std::move(next_);
        next_.clear();
        begin();
    }
}

}  // namespace mainstay::runtime
