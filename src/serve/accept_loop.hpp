// What the control socket and the HTTP endpoint share: the accept loop of a server's Core
// (an `acceptor`, a `pause` timer, a `closed` flag and `admit(socket)`), and close-on-exec.
//
// After a failed accept (out of descriptors, say) the listening socket stays readable: the
// loop waits kAcceptPause before accepting again instead of spinning.
#pragma once

#include <fcntl.h>

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <utility>

namespace mainstay::serve {

inline constexpr std::chrono::milliseconds kAcceptPause{100};

inline void set_cloexec(int fd) {
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

template <class Core>
void accept_next(const std::shared_ptr<Core>& core) {
    core->acceptor.async_accept([self = core](const boost::system::error_code& ec, auto socket) {
        if (self->closed) return;
        if (ec) {
            if (ec == boost::asio::error::operation_aborted) return;
            self->pause.expires_after(kAcceptPause);
            self->pause.async_wait([self](const boost::system::error_code& waited) {
                if (!waited && !self->closed) accept_next(self);
            });
            return;
        }
        self->admit(std::move(socket));
        accept_next(self);
    });
}

}  // namespace mainstay::serve
