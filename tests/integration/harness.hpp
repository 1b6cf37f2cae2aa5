// Runs the real `mainstay run` on a configuration written into a temporary directory and
// watches it: its output lines are collected by a reader thread, and the tests wait on them
// (or on files the test-service writes) with generous deadlines, never with fixed sleeps.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mainstay::testing {

using Clock = std::chrono::steady_clock;
inline constexpr auto kDeadline = std::chrono::seconds(30);

// Built with a sanitizer (and so is mainstay): its shadow memory and quarantine make a memory
// figure meaningless, so tests that bound memory say so and skip that one check.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// Polls `ready` until it holds or `deadline` passes (a few ms between looks). For conditions
// that only the file system shows (a pid file, a start count).
bool eventually(const std::function<bool()>& ready, std::chrono::milliseconds deadline = kDeadline);

std::vector<std::string> read_lines(const std::filesystem::path& file);

// A main configuration whose files all live in the test's directory; `log_extra` is added to
// the `log:` map (", max_size: 100MiB").
inline std::string main_yaml(const std::string& log_extra = "") {
    return "services_dir: services.d\n"
           "log: {file: logs/mainstay.log, level: debug" +
           log_extra +
           "}\n"
           "status: {socket: run/control.sock, file: run/status.json}\n"
           "shutdown: {timeout: 20s}\n";
}

// `command:` line running the test-service program with `args`.
inline std::string ts(const std::string& args) {
    return std::string("command: ") + TEST_SERVICE_PATH + " " + args + "\n";
}

class Mainstay {
public:
    // Writes `main_yaml` as mainstay.yaml and each (name, text) into services.d/, starts
    // `prefix... mainstay run -c <dir>/mainstay.yaml extra...`. With a `read_pause`, the reader
    // is a slow console: it takes at most 4 KiB, then pauses that long, and so on. `nofile`
    // (soft, hard) sets its open-files limit.
    Mainstay(const std::string& main_yaml, const std::vector<std::pair<std::string, std::string>>& services,
             std::vector<std::string> extra_args = {}, std::vector<std::string> prefix = {}, bool read_output = true,
             std::chrono::milliseconds read_pause = {},
             std::optional<std::pair<unsigned long, unsigned long>> nofile = std::nullopt);
    // Another `mainstay run` on the configuration already written in `existing_dir` (by a
    // Mainstay that must outlive this one: that one removes the directory).
    explicit Mainstay(const std::filesystem::path& existing_dir);
    ~Mainstay();

    const std::filesystem::path& dir() const { return dir_; }
    // mainstay's pid: the started process, or with a prefix (unshare ...) the prefix's child
    // (waited for up to `deadline`); -1 when there is none. Never 0 or 1.
    int pid(std::chrono::milliseconds deadline = kDeadline);
    // Waits for an output line containing `text`; returns it, or nullopt at the deadline.
    std::optional<std::string> wait_for(const std::string& text, std::chrono::milliseconds deadline = kDeadline);
    std::size_t count(const std::string& text);
    std::vector<std::string> lines();
    // Signals mainstay; false (and nothing sent) when there is no such process.
    bool signal(int sig);
    // Closes the read end of mainstay's output pipe (started with read_output = false): its
    // writes to stdout fail with EPIPE from then on.
    void close_output();
    // Waits for mainstay to exit; its exit code, or -1 at the deadline (then it is killed).
    int wait_exit(std::chrono::milliseconds deadline = kDeadline);

private:
    void launch(std::vector<std::string> args, bool read_output, std::chrono::milliseconds read_pause,
                std::optional<std::pair<unsigned long, unsigned long>> nofile);

    std::filesystem::path dir_;
    bool owns_dir_{true};
    int pid_{-1};
    bool prefixed_{false};
    int out_fd_{-1};
    bool exited_{false};
    std::thread reader_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::string> lines_;
};

// A run of the mainstay command line (`mainstay status ...`) to its end: exit code (-1 when it
// did not end within the deadline: it is then killed), stdout and stderr.
struct CliResult {
    int code{-1};
    std::string out;
    std::string err;
};
CliResult run_cli(const std::vector<std::string>& args, std::chrono::milliseconds deadline = kDeadline);
// The same for any program: `argv_words[0]` is its path (not looked up in PATH).
CliResult run_command(std::vector<std::string> argv_words, std::chrono::milliseconds deadline = kDeadline);

// `mainstay ARGS... -c <m's main file>`, as a person types it against the running instance.
CliResult cli(Mainstay& m, std::vector<std::string> args);
// One service's object of `mainstay status --json NAME` (null when there is none), and its state.
nlohmann::json service_of(Mainstay& m, const std::string& name);
std::string state_of(Mainstay& m, const std::string& name);
inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The pids of mainstay's children that are zombies, from /proc.
std::vector<int> zombie_children(int parent);
int first_child(int parent);
std::size_t open_fds(int pid);
bool alive(int pid);

}  // namespace mainstay::testing
