#include "runtime/proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace mainstay::runtime::proc {
namespace {

template <class T>
bool number(std::string_view word, T& out) {
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), out);
    return ec == std::errc() && end == word.data() + word.size();
}

}  // namespace

std::optional<Stat> parse_stat(std::string_view line) {
    // "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
    // stime cutime cstime priority nice num_threads itrealvalue starttime ...": the command
    // name may hold spaces and parentheses, so the fields after it are counted from the last ')'.
    const auto open = line.find(" (");
    const auto close = line.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
    Stat s;
    if (!number(line.substr(0, open), s.pid)) return std::nullopt;
    s.comm = std::string(line.substr(open + 2, close - open - 2));
    std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
    std::string_view rest = line.substr(close + 1);
    while (fields.size() < 20) {
        const auto begin = rest.find_first_not_of(' ');
        if (begin == std::string_view::npos) break;
        rest.remove_prefix(begin);
        const auto end = rest.find(' ');
        fields.push_back(rest.substr(0, end));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end);
    }
    if (fields.size() < 20 || fields[0].size() != 1) return std::nullopt;
    s.state = fields[0][0];
    if (!number(fields[1], s.ppid) || !number(fields[2], s.pgid) || !number(fields[3], s.sid) ||
        !number(fields[11], s.utime) || !number(fields[12], s.stime) || !number(fields[19], s.start_time)) {
        return std::nullopt;
    }
    return s;
}

std::optional<Stat> stat(int pid) {
    if (pid <= 0) return std::nullopt;
    auto text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    if (!text) return std::nullopt;
    return parse_stat(*text);
}

std::vector<int> all_pids() {
    std::vector<int> out;
    DIR* dir = ::opendir("/proc");
    if (dir == nullptr) return out;
    while (const dirent* e = ::readdir(dir)) {
        int pid = 0;
        if (number(std::string_view(e->d_name), pid) && pid > 0) out.push_back(pid);
    }
    ::closedir(dir);
    return out;
}

std::vector<int> own_children() {
    std::vector<int> out;
    bool listed = false;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
        auto text = read_file(task.path() / "children", 1 << 20);
        if (!text) continue;
        listed = true;
        std::string_view rest(*text);
        while (!rest.empty()) {
            const auto space = rest.find(' ');
            int pid = 0;
            if (number(rest.substr(0, space), pid) && pid > 1) out.push_back(pid);
            if (space == std::string_view::npos) break;
            rest.remove_prefix(space + 1);
        }
    }
    if (listed) return out;
    const int self = ::getpid();
    for (int pid : all_pids()) {
        if (auto st = stat(pid); st && st->ppid == self && pid > 1) out.push_back(pid);
    }
    return out;
}

bool environ_has(int pid, const std::string& entry) {
    auto text = read_file("/proc/" + std::to_string(pid) + "/environ", 1 << 20);
    if (!text) return false;
    std::string_view env(*text);
    while (!env.empty()) {
        const auto end = env.find('\0');
        if (env.substr(0, end) == entry) return true;
        if (end == std::string_view::npos) break;
        env.remove_prefix(end + 1);
    }
    return false;
}

std::optional<std::string> read_file(const std::filesystem::path& path, std::size_t limit) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd == -1) return std::nullopt;
    std::string out;
    char buf[4096];
    while (out.size() < limit) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int saved = errno;
            ::close(fd);
            errno = saved;
            return std::nullopt;
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

int write_existing(const std::filesystem::path& path, std::string_view text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd == -1) return errno;
    ssize_t n;
    while ((n = ::write(fd, text.data(), text.size())) < 0 && errno == EINTR) {
    }
    const int error = n < 0 ? errno : static_cast<std::size_t>(n) == text.size() ? 0 : EIO;
    ::close(fd);
    return error;
}

const std::string& boot_id() {
    static const std::string id = [] {
        auto text = read_file("/proc/sys/kernel/random/boot_id", 256);
        std::string s = text.value_or("");
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
        return s;
    }();
    return id;
}

}  // namespace mainstay::runtime::proc
