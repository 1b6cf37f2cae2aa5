// test-service's parts shared by its files: the options (options.cpp) and the small POSIX
// helpers (posix.cpp); test_service.cpp runs the service.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace test_service {

constexpr int kExitUsage = 64;
constexpr int kExitInternal = 70;

struct Options {
    std::optional<int> listen_port;
    std::string unix_socket, port_file, healthy_file;
    std::vector<std::pair<std::string, std::string>> routes;  // --route PATH=BODY, in order
    long ready_after_ms = 0;
    bool http = false, hang = false;
    std::optional<long> exit_after_ms;
    std::optional<int> exit_code;
    std::optional<int> die_signal;
    bool ignore_sigterm = false;
    bool fork_grandchild = false, grandchild_new_session = false, orphan_grandchild = false;
    std::string grandchild_pid_file;
    std::optional<long long> print_lines;
    std::optional<long long> lines_per_second;
    long line_length = 100;
    bool use_stderr = false, stay = false;
    std::string pid_file, start_file, env_dump, sigmask_dump;
    // --notify, --notify-every, --ready-fd: what to do when (fd -1: a notify message).
    struct Push {
        std::string message;
        int fd = -1;
        long at_ms = 0;
        long every_ms = 0;
    };
    std::vector<Push> pushes;
};

// The command line, checked; a usage error exits 64 with what was wrong.
Options parse_args(int argc, char** argv);

// Exits 70 with `what` and strerror(errno).
[[noreturn]] void fail(const std::string& what);

std::int64_t now_ns();  // CLOCK_MONOTONIC
// Writes everything, retrying on EINTR, partial writes and EAGAIN (a non-blocking fd is waited
// on with poll). Returns false on a real error.
bool write_all(int fd, const char* p, std::size_t n);
bool write_all(int fd, std::string_view s);
void say(std::string_view line);  // one line on stdout; a failure is fatal
// Write FILE.tmp, then rename it over FILE: readers never see a partial file.
void write_file_atomic(const std::string& path, std::string_view content);
bool file_exists(const std::string& path);
void set_disposition(int sig, void (*handler)(int));
[[noreturn]] void die_by_signal(int sig);
// --env-dump, --sigmask-dump.
void dump_env(const std::string& path);
void dump_sigmask(const std::string& path);
// --fork-grandchild: returns once the grandchild wrote its pid file (exits with
// --orphan-grandchild).
void fork_grandchild(const Options& o);

}  // namespace test_service
