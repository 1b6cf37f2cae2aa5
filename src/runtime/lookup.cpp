#include "runtime/lookup.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

namespace mainstay::runtime {
namespace {

namespace asio = boost::asio;

std::atomic<int> running{0};

// Open while the io_context lives: results are posted through it under its lock.
struct Gate {
    std::mutex mutex;
    asio::io_context* io{nullptr};
};

class GateService : public asio::execution_context::service {
public:
    static inline asio::execution_context::id id;
    explicit GateService(asio::execution_context& context) : service(context), gate(std::make_shared<Gate>()) {
        gate->io = &static_cast<asio::io_context&>(context);
    }
    void shutdown() override {
        std::lock_guard lock(gate->mutex);
        gate->io = nullptr;
    }
    std::shared_ptr<Gate> gate;
};

}  // namespace

Endpoints system_lookup(const std::string& host, int port, std::string& error) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
    Endpoints out;
    if (rc != 0) {
        error = ::gai_strerror(rc);
        return out;
    }
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        asio::ip::tcp::endpoint e;
        if (a->ai_addrlen <= e.capacity()) {
            std::memcpy(e.data(), a->ai_addr, a->ai_addrlen);
            e.resize(a->ai_addrlen);
            out.push_back(e);
        }
    }
    ::freeaddrinfo(found);
    if (out.empty()) error = "no address";
    return out;
}

void lookup(asio::io_context& io, const std::string& host, int port, LookupResult done, LookupFunction how) {
    if (running.fetch_add(1) >= kMaxLookups) {
        running.fetch_sub(1);
        asio::post(io, [done = std::move(done)] { done({}, "too many lookups in progress"); });
        return;
    }
    std::shared_ptr<Gate> gate = asio::use_service<GateService>(io).gate;
    auto result = std::make_shared<LookupResult>(std::move(done));
    // Outstanding work while the lookup runs (as with Asio's resolver): run() does not return
    // for want of work. It is given back under the gate's lock, and only while the context lives.
    io.get_executor().on_work_started();
    try {
        std::thread([gate, host, port, result, how = std::move(how)] {
            std::string error;
            Endpoints endpoints = how(host, port, error);
            running.fetch_sub(1);
            std::lock_guard lock(gate->mutex);
            if (gate->io == nullptr) return;  // mainstay has moved on: the answer is dropped
            asio::post(*gate->io, [result, endpoints = std::move(endpoints), error = std::move(error)] {
                (*result)(endpoints, error);
            });
            gate->io->get_executor().on_work_finished();
        }).detach();
    } catch (const std::system_error& e) {  // no thread could be made
        running.fetch_sub(1);
        asio::post(io, [result, what = std::string(e.what())] { (*result)({}, what); });
        io.get_executor().on_work_finished();
    }
}

}  // namespace mainstay::runtime
