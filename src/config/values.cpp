#include "config/values.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <csignal>
#include <system_error>
#include <utility>

namespace mainstay::config {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Reads an unsigned decimal number with an optional fraction from the front of `s`.
std::optional<double> take_number(std::string_view& s) {
    std::size_t i = 0;
    while (i < s.size() && is_digit(s[i])) ++i;
    std::size_t int_digits = i;
    std::size_t frac_digits = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i, ++frac_digits;
        if (frac_digits == 0) return std::nullopt;
    }
    if (int_digits == 0) return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
    if (ec != std::errc() || p != s.data() + i) return std::nullopt;
    s.remove_prefix(i);
    return v;
}

struct SignalName {
    const char* name;
    int number;
};

constexpr std::array<SignalName, 31> kSignals{{
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL}, {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV},     {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
}};

}  // namespace

std::string format_duration(Duration d) {
    std::int64_t ms = d.count();
    if (ms == 0) return "0s";
    std::string out;
    for (auto [unit, size] : std::array<std::pair<const char*, std::int64_t>, 4>{
             {{"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}}}) {
        if (ms >= size) {
            out += std::to_string(ms / size) + unit;
            ms %= size;
        }
    }
    return out;
}

Parsed<Duration> parse_duration(std::string_view text) {
    const std::string form = "a duration such as 500ms, 10s, 5m, 1h or 1m30s";
    std::string_view s = trim(text);
    if (s.empty()) return Parsed<Duration>::fail(form);
    if (s.front() == '-') return Parsed<Duration>::fail("a non-negative duration, got '" + std::string(s) + "'");
    // Capped so that `now + d` on a nanosecond steady clock cannot overflow (it holds ~292 years).
    constexpr double kMaxMs = 100'000.0 * 3'600'000;
    const std::string too_long = "a duration of at most 100000h, got '" + std::string(s) + "'";
    std::string_view rest = s;
    auto bare = take_number(rest);
    if (bare && rest.empty()) {
        if (*bare * 1000.0 > kMaxMs) return Parsed<Duration>::fail(too_long);
        return Parsed<Duration>::ok(Duration(static_cast<std::int64_t>(std::llround(*bare * 1000.0))));
    }
    rest = s;
    double total_ms = 0;
    while (!rest.empty()) {
        auto n = take_number(rest);
        if (!n) return Parsed<Duration>::fail(form + ", got '" + std::string(s) + "'");
        double unit_ms = 0;
        if (rest.starts_with("ms"))
            unit_ms = 1, rest.remove_prefix(2);
        else if (rest.starts_with("s"))
            unit_ms = 1000, rest.remove_prefix(1);
        else if (rest.starts_with("m"))
            unit_ms = 60'000, rest.remove_prefix(1);
        else if (rest.starts_with("h"))
            unit_ms = 3'600'000, rest.remove_prefix(1);
        else
            return Parsed<Duration>::fail(form + ", got '" + std::string(s) + "'");
        total_ms += *n * unit_ms;
    }
    if (total_ms > kMaxMs) return Parsed<Duration>::fail(too_long);
    return Parsed<Duration>::ok(Duration(static_cast<std::int64_t>(std::llround(total_ms))));
}

Parsed<std::uint64_t> parse_size(std::string_view text) {
    const std::string form = "a size such as 4096, 512KiB or 10MiB";
    std::string_view s = trim(text);
    std::string_view rest = s;
    auto n = take_number(rest);
    if (!n) return Parsed<std::uint64_t>::fail(form + ", got '" + std::string(s) + "'");
    rest = trim(rest);
    static constexpr std::array<std::pair<std::string_view, double>, 8> units{{
        {"", 1},
        {"B", 1},
        {"KiB", 1024.0},
        {"MiB", 1024.0 * 1024},
        {"GiB", 1024.0 * 1024 * 1024},
        {"KB", 1e3},
        {"MB", 1e6},
        {"GB", 1e9},
    }};
    for (const auto& [unit, factor] : units) {
        if (rest == unit) {
            double bytes = *n * factor;
            if (bytes > 1e18) return Parsed<std::uint64_t>::fail("a size below 1 EB");
            return Parsed<std::uint64_t>::ok(static_cast<std::uint64_t>(std::llround(bytes)));
        }
    }
    return Parsed<std::uint64_t>::fail(form + " (units B, KiB, MiB, GiB, KB, MB, GB), got '" + std::string(s) + "'");
}

Parsed<int> parse_signal(std::string_view text) {
    std::string_view s = trim(text);
    if (!s.empty() && is_digit(s.front())) {
        auto n = parse_integer(s);
        if (n && *n.value >= 1 && *n.value <= 64) return Parsed<int>::ok(static_cast<int>(*n.value));
        return Parsed<int>::fail("a signal number from 1 to 64, got '" + std::string(s) + "'");
    }
    std::string_view name = s.starts_with("SIG") ? s.substr(3) : s;
    for (const auto& sig : kSignals) {
        if (name == sig.name) return Parsed<int>::ok(sig.number);
    }
    return Parsed<int>::fail("a signal such as SIGTERM, TERM or 15, got '" + std::string(s) + "'");
}

std::string signal_name(int signal) {
    for (const auto& sig : kSignals) {
        if (sig.number == signal) return std::string("SIG") + sig.name;
    }
    return std::to_string(signal);
}

Parsed<std::int64_t> parse_integer(std::string_view text) {
    std::string_view s = trim(text);
    bool negative = !s.empty() && s.front() == '-';
    std::string_view digits = negative ? s.substr(1) : s;
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
        return Parsed<std::int64_t>::fail("an integer, got '" + std::string(s) + "'");
    }
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || p != digits.data() + digits.size()) {
        return Parsed<std::int64_t>::fail("an integer in range, got '" + std::string(s) + "'");
    }
    return Parsed<std::int64_t>::ok(negative ? -v : v);
}

Parsed<double> parse_number(std::string_view text) {
    std::string_view s = trim(text);
    std::string_view rest = s;
    auto n = take_number(rest);
    if (!n || !rest.empty()) return Parsed<double>::fail("a non-negative number, got '" + std::string(s) + "'");
    return Parsed<double>::ok(*n);
}

Parsed<bool> parse_bool(std::string_view text) {
    std::string s(trim(text));
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s == "true" || s == "yes" || s == "on") return Parsed<bool>::ok(true);
    if (s == "false" || s == "no" || s == "off") return Parsed<bool>::ok(false);
    return Parsed<bool>::fail("true or false, got '" + std::string(trim(text)) + "'");
}

Parsed<std::vector<std::string>> split_words(std::string_view text) {
    using Words = Parsed<std::vector<std::string>>;
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) words.push_back(std::move(word)), word.clear(), in_word = false;
        } else if (c == '\'') {
            auto end = text.find('\'', i + 1);
            if (end == std::string_view::npos) return Words::fail("a command with matching quotes: unterminated '");
            word.append(text.substr(i + 1, end - i - 1));
            i = end, in_word = true;
        } else if (c == '"') {
            std::size_t j = i + 1;
            for (; j < text.size() && text[j] != '"'; ++j) {
                if (text[j] == '\\' && j + 1 < text.size() &&
                    std::string_view("\"\\$`").find(text[j + 1]) != std::string_view::npos)
                    ++j;
                word += text[j];
            }
            if (j >= text.size()) return Words::fail("a command with matching quotes: unterminated \"");
            i = j, in_word = true;
        } else if (c == '\\') {
            if (i + 1 < text.size()) word += text[++i];
            in_word = true;
        } else {
            word += c, in_word = true;
        }
    }
    if (in_word) words.push_back(std::move(word));
    return Words::ok(std::move(words));
}

Parsed<HostPort> parse_host_port(std::string_view text) {
    std::string_view s = trim(text);
    const std::string form = "host:port, got '" + std::string(s) + "'";
    std::string_view host, port;
    if (s.starts_with("[")) {
        auto close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
            return Parsed<HostPort>::fail(form);
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string_view::npos) return Parsed<HostPort>::fail(form);
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
    }
    // A bracketed host is an IPv6 address and may hold ':'; no host may hold blanks or URL syntax.
    bool bracketed = s.starts_with("[");
    if (host.empty() || host.find_first_of(bracketed ? " \t@#/?[]" : " \t@#/?[]:") != std::string_view::npos) {
        return Parsed<HostPort>::fail(form);
    }
    auto p = parse_integer(port);
    if (!p) return Parsed<HostPort>::fail(form);
    if (*p.value < 1 || *p.value > 65535)
        return Parsed<HostPort>::fail("a port from 1 to 65535, got " + std::string(port));
    return Parsed<HostPort>::ok({std::string(host), static_cast<int>(*p.value)});
}

Parsed<HttpUrl> parse_http_url(std::string_view text) {
    std::string_view s = trim(text);
    if (!s.starts_with("http://")) {
        return Parsed<HttpUrl>::fail("an http:// URL (https is not supported for probes), got '" + std::string(s) +
                                     "'");
    }
    std::string_view rest = s.substr(7);
    auto slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    HttpUrl url;
    if (slash != std::string_view::npos) {
        url.target = std::string(rest.substr(slash));
        if (url.target.front() == '?') url.target.insert(0, "/");
    }
    bool has_port = authority.starts_with("[") ? authority.find("]:") != std::string_view::npos
                                               : authority.find(':') != std::string_view::npos;
    const std::string form = "an http://host[:port]/path URL, got '" + std::string(s) + "'";
    if (has_port) {
        auto hp = parse_host_port(authority);
        if (!hp) return Parsed<HttpUrl>::fail(form);
        url.host = hp.value->host;
        url.port = hp.value->port;
    } else {
        bool bracketed = authority.starts_with("[") && authority.ends_with("]") && authority.size() > 2;
        if (bracketed) authority = authority.substr(1, authority.size() - 2);
        if (authority.find_first_of(bracketed ? " \t@#[]" : " \t@#[]:") != std::string_view::npos) {
            return Parsed<HttpUrl>::fail(form);
        }
        url.host = std::string(authority);
    }
    if (url.host.empty() || url.target.find_first_of(" \t#") != std::string::npos) return Parsed<HttpUrl>::fail(form);
    return Parsed<HttpUrl>::ok(std::move(url));
}

Parsed<StatusRange> parse_status_range(std::string_view text) {
    std::string_view s = trim(text);
    const std::string form = "an HTTP status code or range LOW-HIGH (100-599), got '" + std::string(s) + "'";
    auto dash = s.find('-');
    auto low = parse_integer(s.substr(0, dash));
    auto high = dash == std::string_view::npos ? low : parse_integer(s.substr(dash + 1));
    if (!low || !high) return Parsed<StatusRange>::fail(form);
    if (*low.value < 100 || *high.value > 599 || *low.value > *high.value) return Parsed<StatusRange>::fail(form);
    return Parsed<StatusRange>::ok({static_cast<int>(*low.value), static_cast<int>(*high.value)});
}

bool is_valid_name(std::string_view name) {
    auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || is_digit(c); };
    if (name.empty() || !lower_or_digit(name.front())) return false;
    return std::all_of(name.begin(), name.end(),
                       [&](char c) { return lower_or_digit(c) || c == '_' || c == '.' || c == '-'; });
}

std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates) {
    auto distance = [](std::string_view a, std::string_view b) {
        std::vector<std::size_t> row(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            std::size_t diag = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                std::size_t up = row[j];
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
                diag = up;
            }
        }
        return row[b.size()];
    };
    std::optional<std::string> best;
    std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (const auto& c : candidates) {
        std::size_t d = distance(word, c);
        if (d < best_distance) best_distance = d, best = c;
    }
    if (!best && word.size() >= 3) {  // a truncated word: `ready` for `readiness`
        for (const auto& c : candidates) {
            if (c.starts_with(word)) return c;
        }
    }
    return best;
}

std::string lowercase_first(std::string text) {
    if (text.size() > 1 && std::isupper(static_cast<unsigned char>(text[0])) &&
        std::islower(static_cast<unsigned char>(text[1]))) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

std::string errno_text(int error) {
    return lowercase_first(std::generic_category().message(error));
}

std::string_view file_type_name(std::filesystem::file_type type) {
    using std::filesystem::file_type;
    switch (type) {
        case file_type::directory:
            return "a directory";
        case file_type::fifo:
            return "a FIFO";
        case file_type::socket:
            return "a socket";
        case file_type::block:
            return "a block device";
        case file_type::character:
            return "a character device";
        default:
            return "not a file";
    }
}

std::string printable(std::string_view text, std::size_t max_bytes) {
    std::string out;
    out.reserve(std::min(text.size(), max_bytes));
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        bool valid = len != 0 && i + len <= text.size();
        for (std::size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
        if (valid && len == 2) valid = c >= 0xC2;  // no overlong forms
        if (!valid) len = 1;
        if (out.size() + len > max_bytes) {
            out += "...";
            break;
        }
        if (!valid || c < 0x20 || c == 0x7F)
            out += c == '\t' ? ' ' : '?';
        else
            out.append(text.substr(i, len));
        i += len;
    }
    return out;
}

}  // namespace mainstay::config
