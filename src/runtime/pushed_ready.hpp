// Readiness a service pushes (SPEC §3 `ready:`), read on the event loop.
//
// `ready: {notify: true}`: systemd's protocol (sd_notify(3)). Each such service gets a datagram
// socket of its own in the abstract namespace, bound before its process starts; its address
// is the service's $NOTIFY_SOCKET ("@mainstay/<mainstay pid>/<service>/<random>"). Every
// datagram carries the sender's credentials (SO_PASSCRED, checked by the kernel), and the
// caller decides whom to believe: a process of the service's own (its leader, a process of
// its group or of its cgroup), never anyone who merely found the address.
//
// `ready: {fd: N}`: s6's protocol. The service's descriptor N is the write end of a pipe;
// the first newline it writes there makes it ready. What comes after is not read.
//
// Both end with the process (the owner destroys them): nothing is left pending on the loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "supervisor/world.hpp"

namespace mainstay::runtime {

// One datagram in the sd_notify format: newline-separated KEY=VALUE assignments. Known:
// READY=1, STOPPING=1, STATUS=text, WATCHDOG=1, WATCHDOG=trigger; the others are ignored.
supervisor::Notice parse_notice(std::string_view datagram);

class NotifySocket {
public:
    // `sender` is the pid the kernel vouches for; `datagram` is valid during the call only.
    using Handler = std::function<void(int sender, std::string_view datagram)>;

    // Bound and reading; nullptr with `error` set when it cannot be made.
    static std::unique_ptr<NotifySocket> open(boost::asio::io_context& io, const std::string& service, Handler handler,
                                              std::string& error);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    // For $NOTIFY_SOCKET: '@' stands for the abstract namespace's leading NUL.
    const std::string& address() const { return address_; }

    struct State;

private:
    NotifySocket(std::shared_ptr<State> state, std::string address);
    std::shared_ptr<State> state_;
    std::string address_;
};

class ReadyPipe {
public:
    // Takes the read end `fd`; `ready()` is called once, at the first newline.
    ReadyPipe(boost::asio::io_context& io, int fd, std::function<void()> ready);
    ~ReadyPipe();
    ReadyPipe(const ReadyPipe&) = delete;
    ReadyPipe& operator=(const ReadyPipe&) = delete;

    struct State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace mainstay::runtime
