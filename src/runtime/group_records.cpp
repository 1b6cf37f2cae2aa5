#include "runtime/group_records.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "runtime/proc.hpp"

namespace mainstay::runtime {
namespace {

bool write_file(const std::filesystem::path& path, const std::string& text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1) return false;
    ssize_t n;
    while ((n = ::write(fd, text.data(), text.size())) < 0 && errno == EINTR) {
    }
    const bool ok = n == static_cast<ssize_t>(text.size());
    return ::close(fd) == 0 && ok;
}

std::optional<GroupRecord> record_of(int pid, const std::string& label) {
    auto st = proc::stat(pid);
    if (!st || proc::boot_id().empty()) return std::nullopt;
    return GroupRecord{pid, st->start_time, proc::boot_id(), label};
}

}  // namespace

std::string format_record(const GroupRecord& r) {
    return std::to_string(r.pgid) + " " + std::to_string(r.start_time) + " " + r.boot_id + " " + r.label + "\n";
}

std::optional<GroupRecord> parse_record(std::string_view text) {
    // Exactly one line of four words; anything else (a write cut short) is no record.
    if (!text.ends_with('\n') || text.find('\n') != text.size() - 1) return std::nullopt;
    text.remove_suffix(1);
    std::vector<std::string_view> words;
    while (!text.empty()) {
        const auto sp = text.find(' ');
        words.push_back(text.substr(0, sp));
        if (sp == std::string_view::npos) break;
        text.remove_prefix(sp + 1);
    }
    if (words.size() != 4 || words[2].empty() || words[3].empty()) return std::nullopt;
    GroupRecord r;
    auto num = [](std::string_view w, auto& out) {
        auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), out);
        return ec == std::errc() && end == w.data() + w.size();
    };
    if (!num(words[0], r.pgid) || r.pgid <= 1 || !num(words[1], r.start_time)) return std::nullopt;
    r.boot_id = std::string(words[2]);
    r.label = std::string(words[3]);
    return r;
}

bool GroupRecords::open(std::string& error) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    auto self = record_of(::getpid(), "mainstay");
    if (ec || !self || !write_file(dir_ / kInstance, format_record(*self))) {
        error = "cannot record process groups in " + dir_.string() + ": " +
                (ec      ? ec.message()
                 : !self ? std::string("no /proc/self/stat or boot id")
                         : std::string(std::strerror(errno)));
        return false;
    }
    open_ = true;
    return true;
}

bool GroupRecords::add(int pgid, const std::string& label) {
    if (!open_) return false;
    auto r = record_of(pgid, label);
    return r && write_file(dir_ / std::to_string(pgid), format_record(*r));
}

void GroupRecords::remove(int pgid) {
    if (open_) ::unlink((dir_ / std::to_string(pgid)).c_str());
}

void GroupRecords::close() {
    if (!open_) return;
    ::unlink((dir_ / kInstance).c_str());
    ::rmdir(dir_.c_str());  // fails, harmlessly, while a record remains
    open_ = false;
}

GroupRecords::Found GroupRecords::read(const std::filesystem::path& dir) {
    Found found;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        auto text = proc::read_file(it->path(), 4096);
        auto r = text ? parse_record(*text) : std::nullopt;
        found.files.push_back(it->path());
        if (!r) continue;
        if (name == kInstance)
            found.instance = r;
        else if (name == std::to_string(r->pgid))
            found.groups.push_back(*r);
    }
    return found;
}

}  // namespace mainstay::runtime
