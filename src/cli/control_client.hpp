// The command line's side of the control socket (SPEC §1): connects to a running instance and
// exchanges JSON lines with it (serve/control_server.hpp is the other side).
//
// Blocking, as befits a command-line process, but never without a deadline: connect, send and
// receive each give up after their timeout. Plain POSIX sockets and poll(), no Asio, to keep the
// command line small.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace mainstay::cli {

// Why connect() failed, for the exit code and the message: `status` falls back to the status
// file when no instance runs, but a socket that is there and refuses us is a different story.
enum class ConnectFailure {
    no_instance,        // no socket file (ENOENT), or nobody listening on it (ECONNREFUSED)
    permission_denied,  // EACCES, EPERM: the socket or its directory is not ours
    other,              // anything else, including a timeout
};

class ControlClient {
public:
    static constexpr std::chrono::milliseconds kConnectTimeout{5000};
    static constexpr std::chrono::milliseconds kSendTimeout{5000};
    // The longest line accepted from the instance (a status document of many services).
    static constexpr std::size_t kMaxLine = 16 * 1024 * 1024;

    // Connects to the socket at `path`, or returns nullopt with `error` ("no instance is running
    // (PATH: connection refused)", "permission denied: PATH") and, if asked for, `failure`.
    static std::optional<ControlClient> connect(const std::filesystem::path& path, std::string& error,
                                                ConnectFailure* failure = nullptr,
                                                std::chrono::milliseconds timeout = kConnectTimeout);

    ControlClient(ControlClient&& other) noexcept;
    ControlClient& operator=(ControlClient&& other) noexcept;
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;
    ~ControlClient();

    // Sends `request` as one line. false (see error()) when it could not all be written within
    // `timeout` or the connection is gone.
    bool send(const nlohmann::json& request, std::chrono::milliseconds timeout = kSendTimeout);

    // The next line from the instance, parsed. nullopt and `error` when none came within
    // `timeout` ("no answer within 5000 ms"), the instance closed the connection ("the instance
    // closed the connection"), or the line is not JSON.
    std::optional<nlohmann::json> receive(std::chrono::milliseconds timeout, std::string& error);

    // Why the last send() failed.
    const std::string& error() const { return error_; }

private:
    explicit ControlClient(int fd) : fd_(fd) {}
    void close();
    // Reads what the instance already sent, without waiting: true when a whole line is there.
    bool take_waiting_input();

    int fd_{-1};
    std::string input_;  // received, after the last whole line
    std::string error_;
};

}  // namespace mainstay::cli
