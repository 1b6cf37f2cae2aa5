#include "harness.hpp"

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "runtime/proc.hpp"
#include "support/proc_stats.hpp"
#include "support/signal_guard.hpp"

namespace mainstay::testing {

bool eventually(const std::function<bool()>& ready, std::chrono::milliseconds deadline) {
    const auto end = Clock::now() + deadline;
    while (!ready()) {
        if (Clock::now() >= end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

std::vector<std::string> read_lines(const std::filesystem::path& file) {
    std::vector<std::string> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

Mainstay::Mainstay(const std::string& main_yaml, const std::vector<std::pair<std::string, std::string>>& services,
                   std::vector<std::string> extra_args, std::vector<std::string> prefix, bool read_output,
                   std::chrono::milliseconds read_pause,
                   std::optional<std::pair<unsigned long, unsigned long>> nofile) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-it-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    std::filesystem::create_directories(dir_ / "services.d");
    std::ofstream(dir_ / "mainstay.yaml") << main_yaml;
    for (const auto& [name, text] : services) std::ofstream(dir_ / "services.d" / (name + ".yaml")) << text;

    prefixed_ = !prefix.empty();
    std::vector<std::string> args = std::move(prefix);
    args.push_back(MAINSTAY_BINARY);
    for (std::string a : {"run", "-c"}) args.push_back(a);
    args.push_back((dir_ / "mainstay.yaml").string());
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    launch(std::move(args), read_output, read_pause, nofile);
}

Mainstay::Mainstay(const std::filesystem::path& existing_dir) : dir_(existing_dir), owns_dir_(false) {
    launch({MAINSTAY_BINARY, "run", "-c", (dir_ / "mainstay.yaml").string()}, true, {}, std::nullopt);
}

void Mainstay::launch(std::vector<std::string> args, bool read_output, std::chrono::milliseconds read_pause,
                      std::optional<std::pair<unsigned long, unsigned long>> nofile) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ == -1) std::abort();  // nothing started: nothing may ever be signalled
    if (pid_ == 0) {
        if (nofile) {
            rlimit limit{nofile->first, nofile->second};
            if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
        }
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
    if (!read_output) return;  // a stdout nobody reads: the pipe fills and stays full
    reader_ = std::thread([this, read_pause] {
        std::string partial;
        char buf[65536];
        const std::size_t chunk = read_pause.count() > 0 ? 4096 : sizeof buf;
        for (;;) {
            if (read_pause.count() > 0) std::this_thread::sleep_for(read_pause);
            ssize_t n = ::read(out_fd_, buf, chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            partial.append(buf, static_cast<std::size_t>(n));
            std::lock_guard lock(mutex_);
            for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
                lines_.push_back(partial.substr(0, nl));
                partial.erase(0, nl + 1);
            }
            cv_.notify_all();
        }
    });
}

CliResult cli(Mainstay& m, std::vector<std::string> args) {
    args.push_back("-c");
    args.push_back((m.dir() / "mainstay.yaml").string());
    return run_cli(args);
}

nlohmann::json service_of(Mainstay& m, const std::string& name) {
    auto r = cli(m, {"status", "--json", name});
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    if (doc.is_discarded() || !doc.contains("services") || doc["services"].empty()) return {};
    return doc["services"][0];
}

std::string state_of(Mainstay& m, const std::string& name) {
    auto s = service_of(m, name);
    return s.is_object() ? s.value("state", std::string()) : std::string();
}

CliResult run_cli(const std::vector<std::string>& args, std::chrono::milliseconds deadline) {
    std::vector<std::string> all{MAINSTAY_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    return run_command(all, deadline);
}

CliResult run_command(std::vector<std::string> argv_words, std::chrono::milliseconds deadline) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-cli-XXXXXX").string();
    const std::filesystem::path dir = ::mkdtemp(tmpl.data());
    const std::string out_file = (dir / "out").string(), err_file = (dir / "err").string();
    CliResult result;
    const pid_t pid = ::fork();
    if (pid == -1) std::abort();  // nothing started: nothing may ever be signalled
    if (pid == 0) {
        const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || err < 0) ::_exit(126);
        ::dup2(out, 1);
        ::dup2(err, 2);
        std::vector<char*> argv;
        for (auto& a : argv_words) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    if (!eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, deadline)) {
        signal_process(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    } else if (WIFEXITED(status)) {
        result.code = WEXITSTATUS(status);
    }
    auto slurp = [](const std::string& f) {
        std::ifstream in(f);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    };
    result.out = slurp(out_file);
    result.err = slurp(err_file);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return result;
}

void Mainstay::close_output() {
    if (reader_.joinable()) std::abort();  // only for a Mainstay started with read_output = false
    ::close(out_fd_);
    out_fd_ = -1;
}

int Mainstay::pid(std::chrono::milliseconds deadline) {
    if (!prefixed_) return pid_;
    // The prefix's child (mainstay), found in /proc as a child of the process we started; -1
    // when it has none (the prefix failed, or already exited).
    int child = -1;
    eventually(
        [&] {
            child = exited_ ? -1 : first_child(pid_);
            return child > 1 || exited_ || !alive(pid_);  // a prefix that ended has no child to wait for
        },
        deadline);
    return child > 1 ? child : -1;
}

bool Mainstay::signal(int sig) {
    return signal_process(pid(), sig);
}

Mainstay::~Mainstay() {
    if (!exited_) {
        // A clean end first: it leaves neither cgroups nor records behind. Then SIGKILL.
        const int first = pid(std::chrono::milliseconds(0));
        if (first > 1) signal_process(first, SIGTERM);
        int status = 0;
        if (!eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, std::chrono::seconds(5))) {
            if (prefixed_) {
                const int child = pid(std::chrono::milliseconds(0));
                if (child > 1) signal_process(child, SIGKILL);
            }
            signal_process(pid_, SIGKILL);
            wait_exit(std::chrono::seconds(10));
        }
        exited_ = true;
    }
    if (reader_.joinable()) reader_.join();
    if (out_fd_ != -1) ::close(out_fd_);
    // A sanitizer's report goes to mainstay's output, which ctest does not show: print it from
    // its first line on, so that the failing exit code it caused comes with its reason.
    {
        std::lock_guard lock(mutex_);
        auto report = std::find_if(lines_.begin(), lines_.end(), [](const std::string& line) {
            return line.find("Sanitizer") != std::string::npos || line.find("runtime error:") != std::string::npos;
        });
        for (auto it = report; it != lines_.end(); ++it) std::fprintf(stderr, "mainstay| %s\n", it->c_str());
    }
    std::error_code ec;
    if (owns_dir_) std::filesystem::remove_all(dir_, ec);
}

std::optional<std::string> Mainstay::wait_for(const std::string& text, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mutex_);
    std::optional<std::string> found;
    cv_.wait_for(lock, deadline, [&] {
        for (const auto& l : lines_) {
            if (l.find(text) != std::string::npos) {
                found = l;
                return true;
            }
        }
        return false;
    });
    return found;
}

std::size_t Mainstay::count(const std::string& text) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& l : lines_) n += l.find(text) != std::string::npos;
    return n;
}

std::vector<std::string> Mainstay::lines() {
    std::lock_guard lock(mutex_);
    return lines_;
}

int Mainstay::wait_exit(std::chrono::milliseconds deadline) {
    int status = 0;
    bool done = eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, deadline);
    if (!done) {
        signal_process(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
    }
    exited_ = true;
    if (!done) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

namespace {

// Every process, as its stat line says.
std::vector<runtime::proc::Stat> processes() {
    std::vector<runtime::proc::Stat> out;
    for (int pid : runtime::proc::all_pids()) {
        if (auto st = runtime::proc::stat(pid)) out.push_back(std::move(*st));
    }
    return out;
}

}  // namespace

int first_child(int parent) {
    for (const auto& p : processes()) {
        if (p.ppid == parent) return p.pid;
    }
    return -1;
}

std::vector<int> zombie_children(int parent) {
    std::vector<int> out;
    for (const auto& p : processes()) {
        if (p.ppid == parent && p.state == 'Z') out.push_back(p.pid);
    }
    return out;
}

std::size_t open_fds(int pid) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
        ++n;
    return n;
}

bool alive(int pid) {
    if (pid <= 1 || ::kill(pid, 0) != 0) return false;
    // A zombie still answers kill(0): look at its state.
    const char state = stat_of(pid).state;
    return state != 0 && state != 'Z';
}

}  // namespace mainstay::testing
