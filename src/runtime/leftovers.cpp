#include "runtime/leftovers.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "runtime/group_records.hpp"
#include "runtime/proc.hpp"

namespace mainstay::runtime {
namespace {

// True when cgroup `own` is `dir` or inside it.
bool contains(const std::filesystem::path& dir, const std::filesystem::path& own) {
    auto d = dir.begin();
    auto o = own.begin();
    for (; d != dir.end(); ++d, ++o) {
        if (o == own.end() || *d != *o) return false;
    }
    return true;
}

}  // namespace

std::string instance_id(const std::filesystem::path& lock_file) {
    std::error_code ec;
    auto absolute = std::filesystem::weakly_canonical(lock_file, ec);
    const std::string text = (ec ? std::filesystem::absolute(lock_file, ec) : absolute).string();
    std::uint64_t h = 14695981039346656037ULL;  // FNV-1a
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

Leftovers::Leftovers(const std::optional<cgroup::Self>& self, const std::filesystem::path& records_dir,
                     const std::string& id) {
    for (int pid = ::getpid(); pid > 1 && protected_.size() < 4096;) {
        protected_.push_back(pid);
        auto st = proc::stat(pid);
        if (!st) break;
        pid = st->ppid;
    }

    // Its cgroup subtree: every process in it is the predecessor's (no start time needed: a
    // process joins only when it is put there).
    if (self) {
        const std::string name = cgroup::instance_dir_name(id);
        std::filesystem::path base = self->dir;
        for (auto p = self->dir; p.has_relative_path() && p != p.parent_path(); p = p.parent_path()) {
            if (p.filename() == name) base = p.parent_path();  // started from inside it (its supervisor leaf)
        }
        const auto dir = base / name;
        std::error_code ec;
        for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            if (!it->is_directory(ec) || contains(it->path(), self->dir)) continue;
            const std::string leaf = it->path().filename().string();
            const std::string from = leaf.starts_with("service.") ? "service " + leaf.substr(8) : leaf;
            for (int pid : cgroup::pids_in(it->path())) add(pid, from, 0);
            cgroup::kill_tree(it->path());  // also what forks in the meantime
            leaves_.push_back(it->path());
        }
        if (std::filesystem::exists(dir, ec)) instance_dir_ = dir;
    }

    // Its recorded groups, and what carries its name in the environment.
    auto found = GroupRecords::read(records_dir);
    record_files_ = found.files;
    const std::string& boot = proc::boot_id();
    if (!boot.empty()) {
        std::vector<proc::Stat> all;
        for (int pid : proc::all_pids()) {
            if (auto st = proc::stat(pid)) all.push_back(*st);
        }
        for (const auto& g : found.groups) {
            if (g.boot_id != boot) continue;
            for (const auto& st : all) {
                if (st.pgid == g.pgid && st.start_time >= g.start_time)
                    add(st.pid, "group of " + g.label, g.start_time);
            }
        }
        if (found.instance && found.instance->boot_id == boot) {
            const std::string entry = std::string(kInstanceVariable) + "=" + id;
            for (const auto& st : all) {
                if (st.start_time >= found.instance->start_time && proc::environ_has(st.pid, entry)) {
                    add(st.pid, kInstanceVariable, found.instance->start_time);
                }
            }
        }
    }
    // SIGKILL through the pidfd opened and checked in add().
    for (auto& t : targets_) {
        if (t.pidfd != -1)
            ::syscall(SYS_pidfd_send_signal, t.pidfd, SIGKILL, nullptr, 0);
        else
            ::kill(t.pid, SIGKILL);  // no pidfd (old kernel, seccomp): checked just before
    }
}

std::vector<std::string> end_escaped(const std::string& service, const std::string& instance_id,
                                     const std::set<int>& leaders) {
    std::vector<std::string> ended;
    if (instance_id.empty()) return ended;
    const std::string ours = std::string(kInstanceVariable) + "=" + instance_id;
    const std::string its = std::string(kServiceVariable) + "=" + service;
    for (int pid : proc::own_children()) {
        if (pid <= 1 || leaders.contains(pid)) continue;
        if (!proc::environ_has(pid, its) || !proc::environ_has(pid, ours)) continue;
        // Checked again through a pidfd, so the signal cannot reach a process that took the
        // number since.
        const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
        auto st = proc::stat(pid);
        if (st && st->ppid == ::getpid() && st->state != 'Z' && st->state != 'X') {
            if (pidfd != -1)
                ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
            else
                ::kill(pid, SIGKILL);
            // A daemon leads its own group after setsid: what it started there goes too.
            if (st->pgid == pid) ::kill(-pid, SIGKILL);
            ended.push_back(std::to_string(pid) + " " + st->comm);
        }
        if (pidfd != -1) ::close(pidfd);
    }
    return ended;
}

Leftovers::~Leftovers() {
    for (auto& t : targets_) {
        if (t.pidfd != -1) ::close(t.pidfd);
    }
}

void Leftovers::add(int pid, const std::string& from, std::uint64_t not_before) {
    if (pid <= 1 || std::find(protected_.begin(), protected_.end(), pid) != protected_.end()) return;
    if (std::any_of(targets_.begin(), targets_.end(), [&](const Target& t) { return t.pid == pid; })) return;
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    // Read after the pidfd is open: if this is still the process we mean, the pidfd is it.
    auto st = proc::stat(pid);
    if (!st || st->state == 'Z' || st->state == 'X' || st->start_time < not_before) {
        if (pidfd != -1) ::close(pidfd);
        return;
    }
    targets_.push_back({pid, st->start_time, st->comm, from, pidfd});
}

bool Leftovers::exited(const Target& t) const {
    if (t.pidfd != -1) {
        pollfd p{t.pidfd, POLLIN, 0};
        return ::poll(&p, 1, 0) == 1;
    }
    auto st = proc::stat(t.pid);
    return !st || st->start_time != t.start_time || st->state == 'Z' || st->state == 'X';
}

std::string Leftovers::summary() const {
    if (targets_.empty()) return {};
    std::string s = "ended " + std::to_string(targets_.size()) + (targets_.size() == 1 ? " process" : " processes") +
                    " left by a previous instance:";
    std::size_t shown = 0;
    for (const auto& t : targets_) {
        if (++shown > 20) {
            s += " and " + std::to_string(targets_.size() - 20) + " more";
            break;
        }
        s += (shown == 1 ? " " : ", ") + std::to_string(t.pid) + " " + t.comm + " (" + t.from + ")";
    }
    return s;
}

bool Leftovers::gone() {
    if (!std::all_of(targets_.begin(), targets_.end(), [&](const Target& t) { return exited(t); })) return false;
    bool removed = true;
    for (const auto& leaf : leaves_) removed &= cgroup::remove_tree(leaf);
    if (!removed) {  // something forked before cgroup.kill landed: kill again, look later
        for (const auto& leaf : leaves_) cgroup::kill_tree(leaf);
        return false;
    }
    if (instance_dir_) ::rmdir(instance_dir_->c_str());  // stays when mainstay itself is inside
    for (const auto& f : record_files_) ::unlink(f.c_str());
    record_files_.clear();
    return true;
}

}  // namespace mainstay::runtime
