#include "runtime/cgroup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "runtime/proc.hpp"

namespace mainstay::runtime {
namespace cgroup {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        const auto at = text.find(sep);
        std::string_view word = text.substr(0, at);
        if (!word.empty()) out.push_back(word);
        if (at == std::string_view::npos) break;
        text.remove_prefix(at + 1);
    }
    return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::all_of(s.begin() + static_cast<long>(i) + 1, s.begin() + static_cast<long>(i) + 4,
                        [](char c) { return c >= '0' && c <= '7'; })) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string errno_text(int error) {
    return std::strerror(error);
}

}  // namespace

std::optional<Mount> parse_mountinfo(std::string_view text) {
    // "36 35 98:0 /root /mnt/point rw,noatime master:1 - cgroup2 cgroup2 rw": after the
    // optional fields comes " - ", then the file system type.
    for (std::string_view line : split(text, '\n')) {
        const auto dash = line.find(" - ");
        if (dash == std::string_view::npos) continue;
        auto before = split(line.substr(0, dash), ' ');
        auto after = split(line.substr(dash + 3), ' ');
        if (before.size() < 5 || after.empty() || after[0] != "cgroup2") continue;
        return Mount{unescape(before[4]), unescape(before[3])};
    }
    return std::nullopt;
}

std::optional<std::string> parse_proc_cgroup(std::string_view text) {
    for (std::string_view line : split(text, '\n')) {
        if (line.starts_with("0::")) return std::string(line.substr(3));
    }
    return std::nullopt;
}

std::optional<std::filesystem::path> locate(const Mount& mount, std::string_view cgroup) {
    if (cgroup.empty() || cgroup.front() != '/' || cgroup.find("/..") != std::string_view::npos) return std::nullopt;
    std::string_view root = mount.root;
    while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
    if (root == "/") root = "";
    // The cgroup must be the mount's root or below it.
    if (!cgroup.starts_with(root) || (cgroup.size() > root.size() && cgroup[root.size()] != '/')) return std::nullopt;
    std::string_view rest = cgroup.substr(root.size());
    while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    return rest.empty() ? mount.point : mount.point / std::string(rest);
}

std::string cpu_max(double cpus) {
    constexpr long kPeriod = 100000;  // µs, the kernel's default period
    const long quota = std::max(1000L, std::lround(cpus * static_cast<double>(kPeriod)));
    return std::to_string(quota) + " " + std::to_string(kPeriod);
}

std::vector<int> parse_pids(std::string_view text) {
    std::vector<int> out;
    for (std::string_view line : split(text, '\n')) {
        int pid = 0;
        auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
        if (ec == std::errc() && end == line.data() + line.size() && pid > 0) out.push_back(pid);
    }
    return out;
}

std::vector<std::string> parse_words(std::string_view text) {
    std::vector<std::string> out;
    for (std::string_view line : split(text, '\n')) {
        for (std::string_view w : split(line, ' ')) out.emplace_back(w);
    }
    return out;
}

std::vector<std::string> controllers_for(const config::LimitsSpec& limits) {
    std::vector<std::string> out;
    if (limits.memory) out.emplace_back("memory");
    if (limits.cpu) out.emplace_back("cpu");
    if (limits.pids) out.emplace_back("pids");
    return out;
}

std::string instance_dir_name(std::string_view instance_id) {
    return "mainstay-" + std::string(instance_id);
}

std::optional<Self> find_self(std::string& reason) {
    auto mountinfo = proc::read_file("/proc/self/mountinfo");
    if (!mountinfo) {
        reason = "cannot read /proc/self/mountinfo: " + errno_text(errno);
        return std::nullopt;
    }
    auto mount = parse_mountinfo(*mountinfo);
    if (!mount) {
        reason = "no cgroup v2 file system is mounted";
        return std::nullopt;
    }
    auto own = proc::read_file("/proc/self/cgroup");
    auto path = own ? parse_proc_cgroup(*own) : std::nullopt;
    if (!path) {
        reason = "mainstay is in no cgroup v2 (no 0:: line in /proc/self/cgroup)";
        return std::nullopt;
    }
    auto dir = locate(*mount, *path);
    struct stat st {};
    if (!dir || ::stat((*dir / "cgroup.procs").c_str(), &st) != 0) {
        reason = "mainstay's cgroup " + *path + " is not visible under " + mount->point.string();
        return std::nullopt;
    }
    return Self{*mount, *dir};
}

std::vector<int> pids_in(const std::filesystem::path& dir) {
    std::vector<int> out;
    if (auto text = proc::read_file(dir / "cgroup.procs")) out = parse_pids(*text);
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_directory(ec)) {
            auto more = pids_in(it->path());
            out.insert(out.end(), more.begin(), more.end());
        }
    }
    return out;
}

void kill_tree(const std::filesystem::path& dir) {
    if (proc::write_existing(dir / "cgroup.kill", "1") == 0) return;
    const int self = ::getpid();
    for (int pid : pids_in(dir)) {
        if (pid > 1 && pid != self) ::kill(pid, SIGKILL);
    }
}

bool remove_tree(const std::filesystem::path& dir) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_directory(ec)) remove_tree(it->path());
    }
    return ::rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

}  // namespace cgroup

std::unique_ptr<CgroupTree> CgroupTree::create(const cgroup::Self& self, const std::string& instance_id,
                                               std::string& reason) {
    auto dir = self.dir / cgroup::instance_dir_name(instance_id);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        reason = "cannot create " + dir.string() + ": " + std::strerror(errno);
        return nullptr;
    }
    // Writable means: a process can be moved in. Checked on the helpers' leaf, made here.
    auto tree = std::unique_ptr<CgroupTree>(new CgroupTree(self.dir, dir));
    std::string error;
    const int leaf = tree->open_leaf(std::string(kHelpers), error);
    const int fd = leaf == -1 ? -1 : ::openat(leaf, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (fd == -1) {
        reason = leaf == -1 ? error
                            : "cannot open " + (dir / kHelpers / "cgroup.procs").string() + ": " + std::strerror(errno);
        if (leaf != -1) ::close(leaf);
        cgroup::remove_tree(dir);
        return nullptr;
    }
    ::close(fd);
    ::close(leaf);
    return tree;
}

std::vector<std::string> CgroupTree::enable(const std::vector<std::string>& wanted, std::string& why) {
    auto words = [](const std::filesystem::path& file) {
        auto text = proc::read_file(file);
        return text ? cgroup::parse_words(*text) : std::vector<std::string>{};
    };
    auto missing_in = [&](const std::filesystem::path& file) {
        auto have = words(file);
        std::vector<std::string> out;
        for (const auto& w : wanted) {
            if (std::find(have.begin(), have.end(), w) == have.end()) out.push_back(w);
        }
        return out;
    };
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& w : v) s += (s.empty() ? "" : ", ") + w;
        return s;
    };
    auto enable_in = [&](const std::filesystem::path& cg, const std::vector<std::string>& which) {
        std::string line;
        for (const auto& w : which) line += (line.empty() ? "+" : " +") + w;
        return line.empty() ? 0 : proc::write_existing(cg / "cgroup.subtree_control", line);
    };
    if (auto absent = missing_in(base_ / "cgroup.controllers"); !absent.empty()) {
        why = "cgroup v2 controller(s) " + join(absent) + " not available in " + base_.string() +
              " (they may be bound to cgroup v1, or not delegated)";
    }
    std::vector<std::string> possible;
    auto have_base = words(base_ / "cgroup.controllers");
    for (const auto& w : wanted) {
        if (std::find(have_base.begin(), have_base.end(), w) != have_base.end()) possible.push_back(w);
    }
    int error = enable_in(base_, possible);
    if (error == EBUSY) {
        // The no-internal-processes rule. Only when mainstay is alone in its cgroup may it move
        // out of the way: moving would otherwise change nothing for the others there.
        auto there = proc::read_file(base_ / "cgroup.procs");
        auto pids = there ? cgroup::parse_pids(*there) : std::vector<int>{};
        if (pids == std::vector<int>{::getpid()}) {
            auto leaf = dir_ / "supervisor";
            if ((::mkdir(leaf.c_str(), 0755) == 0 || errno == EEXIST) &&
                proc::write_existing(leaf / "cgroup.procs", "0") == 0) {
                error = enable_in(base_, possible);
            }
        }
    }
    if (error != 0) {
        why = "cannot enable " + join(possible) + " in " + (base_ / "cgroup.subtree_control").string() + ": " +
              std::strerror(error) + (error == EBUSY ? " (other processes share mainstay's cgroup)" : "");
    } else if ((error = enable_in(dir_, possible)) != 0) {
        why = "cannot enable " + join(possible) + " in " + (dir_ / "cgroup.subtree_control").string() + ": " +
              std::strerror(error);
    }
    auto enabled = words(dir_ / "cgroup.subtree_control");
    std::vector<std::string> out;
    for (const auto& w : wanted) {
        if (std::find(enabled.begin(), enabled.end(), w) != enabled.end()) out.push_back(w);
    }
    return out;
}

int CgroupTree::open_leaf(const std::string& leaf, std::string& error) {
    auto dir = dir_ / leaf;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        error = "cannot create cgroup " + dir.string() + ": " + std::strerror(errno);
        return -1;
    }
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1) error = "cannot open cgroup " + dir.string() + ": " + std::strerror(errno);
    return fd;
}

std::string CgroupTree::apply_limits(const std::string& leaf, const config::LimitsSpec& limits) {
    auto dir = dir_ / leaf;
    std::string errors;
    auto put = [&](const char* file, const std::string& value) {
        if (int e = proc::write_existing(dir / file, value); e != 0) {
            errors += std::string(errors.empty() ? "" : "; ") + "cannot write " + file + ": " + std::strerror(e);
        }
    };
    if (limits.memory) put("memory.max", std::to_string(*limits.memory));
    if (limits.cpu) put("cpu.max", cgroup::cpu_max(*limits.cpu));
    if (limits.pids) put("pids.max", std::to_string(*limits.pids));
    return errors;
}

bool CgroupTree::signal(const std::string& leaf, int sig) {
    auto dir = dir_ / leaf;
    const std::vector<int> pids = cgroup::pids_in(dir);
    if (pids.empty()) return false;  // nothing to signal (the usual case when a leader exited)
    if (sig == SIGKILL) {
        cgroup::kill_tree(dir);
        return true;
    }
    const int self = ::getpid();
    for (int pid : pids) {
        if (pid > 1 && pid != self) ::kill(pid, sig);
    }
    return false;
}

bool CgroupTree::remove(const std::string& leaf) {
    return cgroup::remove_tree(dir_ / leaf);
}

bool CgroupTree::clear() {
    std::error_code ec;
    bool busy = false;
    for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_directory(ec) || it->path().filename() == "supervisor") continue;
        cgroup::kill_tree(it->path());
        busy |= !cgroup::remove_tree(it->path());
    }
    if (busy) return false;
    // With mainstay in `supervisor`, the subtree stays: a successor removes it.
    std::error_code exists_ec;
    return cgroup::remove_tree(dir_) || std::filesystem::exists(dir_ / "supervisor", exists_ec);
}

}  // namespace mainstay::runtime
