#include "runtime/output_tail.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "runtime/log_capture.hpp"
#include "runtime/output_format.hpp"

namespace mainstay::runtime {

void OutputTails::add(const std::string& service, std::string_view text, std::chrono::system_clock::time_point time,
                      bool own_run) {
    Tail& tail = tails_[service];
    // A block of lines (several, '\n' between them): only its last kLines can stay, unless
    // someone follows the service and must see every one.
    const bool followed =
        std::any_of(followers_.begin(), followers_.end(), [&](const auto& f) { return f.second.first == service; });
    if (!followed) {
        std::size_t start = 0;
        std::size_t kept = 0;
        for (std::size_t at = text.size(); at-- > 0;) {
            if (text[at] == '\n' && ++kept == kLines) {
                start = at + 1;
                break;
            }
        }
        text.remove_prefix(start);
    }
    for_each_line(text, [&](std::string_view one) {
        tail.lines.push({time, std::string(one.substr(0, kLineBytes)), one.size() > kLineBytes});
        if (!followed) return;
        std::string rendered;
        for (const auto& [id, f] : followers_) {
            if (f.first != service) continue;
            if (rendered.empty()) rendered = render(service, tail.lines.back());
            f.second(rendered);
        }
    });
    if (own_run) tail.last_of_run = tail.lines.back().text;  // the block's last line
}

void OutputTails::Lines::push(Line line) {
    if (lines_.size() < kLines) {
        lines_.push_back(std::move(line));
        return;
    }
    lines_[oldest_] = std::move(line);
    oldest_ = (oldest_ + 1) % lines_.size();
}

void OutputTails::begin_run(const std::string& service) {
    auto it = tails_.find(service);
    if (it != tails_.end()) it->second.last_of_run.clear();
}

std::string OutputTails::last_of_run(const std::string& service) const {
    auto it = tails_.find(service);
    return it == tails_.end() ? std::string() : it->second.last_of_run;
}

std::string OutputTails::last(const std::string& service) const {
    auto it = tails_.find(service);
    return it == tails_.end() || it->second.lines.empty() ? std::string() : it->second.lines.back().text;
}

std::string OutputTails::render(const std::string& service, const Line& line) const {
    std::string out;
    append_file(out, {line.time, std::nullopt, service, service, line.text}, format_);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

std::vector<std::string> OutputTails::rendered(const std::string& service, std::size_t n) const {
    std::vector<std::string> out;
    auto it = tails_.find(service);
    if (it == tails_.end()) return out;
    const auto& lines = it->second.lines;
    const std::size_t from = lines.size() > n ? lines.size() - n : 0;
    for (std::size_t i = from; i < lines.size(); ++i) out.push_back(render(service, lines[i]));
    return out;
}

bool OutputTails::same(const std::string& file_line, const std::string& service, const Line& line) const {
    const std::string mine = render(service, line);
    if (file_line == mine) return true;
    if (!line.cut) return false;
    // Kept cut: the file has the whole line, which starts the same.
    if (format_ == config::LogFormat::text) return file_line.rfind(mine, 0) == 0;
    const auto doc = nlohmann::json::parse(file_line, nullptr, false);
    if (!doc.is_object() || !doc.contains("line") || !doc["line"].is_string()) return false;
    const auto kept = nlohmann::json::parse(mine, nullptr, false);
    return kept.is_object() && doc.value("time", std::string()) == kept.value("time", std::string()) &&
           doc["line"].get<std::string>().rfind(kept.value("line", std::string()), 0) == 0;
}

std::vector<std::string> OutputTails::merged(const std::string& service, std::vector<std::string> file,
                                             std::size_t n) const {
    auto it = tails_.find(service);
    if (it != tails_.end()) {
        const auto& kept = it->second.lines;
        // The longest run of the oldest kept lines that the file ends with: what follows it in
        // memory is not in the file yet.
        std::size_t written = 0;
        for (std::size_t q = std::min(kept.size(), file.size()); q > 0; --q) {
            const std::size_t base = file.size() - q;
            bool all = true;
            for (std::size_t k = 0; k < q && all; ++k) all = same(file[base + k], service, kept[k]);
            if (all) {
                written = q;
                break;
            }
        }
        // None of them in the file (it was rotated away, or written by nobody yet): a kept line
        // newer than the file's last is not in it.
        if (written == 0 && !file.empty()) {
            for (std::size_t k = 0; k < kept.size(); ++k) {
                if (same(file.back(), service, kept[k])) {
                    written = k + 1;
                    break;
                }
            }
        }
        for (std::size_t k = written; k < kept.size(); ++k) file.push_back(render(service, kept[k]));
    }
    if (file.size() > n) file.erase(file.begin(), file.end() - static_cast<std::ptrdiff_t>(n));
    return file;
}

std::uint64_t OutputTails::follow(const std::string& service, Follower f) {
    const std::uint64_t id = next_follower_++;
    followers_.emplace(id, std::make_pair(service, std::move(f)));
    return id;
}

void OutputTails::unfollow(std::uint64_t id) {
    followers_.erase(id);
}

void OutputTails::forget(const std::string& service) {
    tails_.erase(service);
}

std::optional<std::vector<std::string>> read_file_tail(const std::filesystem::path& path, std::size_t n,
                                                       std::size_t max_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return std::nullopt;
    }
    // Backwards from the end, a chunk at a time, until n lines (and the newline before them).
    const auto size = static_cast<std::size_t>(st.st_size);
    std::string data;
    std::size_t offset = size;
    constexpr std::size_t kChunk = 64 * 1024;
    while (offset > 0 && size - offset < max_bytes) {
        if (std::count(data.begin(), data.end(), '\n') > static_cast<std::ptrdiff_t>(n)) break;
        const std::size_t len = std::min({kChunk, offset, max_bytes - (size - offset)});
        std::string chunk(len, '\0');
        const ssize_t got = ::pread(fd, chunk.data(), len, static_cast<off_t>(offset - len));
        if (got != static_cast<ssize_t>(len)) break;  // shrunk meanwhile (rotated): what we have
        offset -= len;
        data.insert(0, chunk);
    }
    ::close(fd);
    std::vector<std::string> lines;
    std::size_t start = 0;
    if (offset > 0) {  // began inside a line: it is not whole
        const auto nl = data.find('\n');
        start = nl == std::string::npos ? data.size() : nl + 1;
    }
    while (start < data.size()) {
        auto nl = data.find('\n', start);
        if (nl == std::string::npos) nl = data.size();
        lines.push_back(data.substr(start, nl - start));
        start = nl + 1;
    }
    if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
    return lines;
}

}  // namespace mainstay::runtime
