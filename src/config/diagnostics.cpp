#include "config/diagnostics.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "config/values.hpp"

namespace mainstay::config {

std::string format(const Diagnostic& d) {
    std::string out = d.mark.file;
    if (d.mark.line > 0) {
        out += ':' + std::to_string(d.mark.line) + ':' + std::to_string(d.mark.col);
    }
    out += d.severity == Severity::error ? ": error: " : ": warning: ";
    out += d.message;
    // File names and the text a message quotes come from the user's files: an escape sequence
    // in them must not reach the terminal (it would recolour it, move the cursor, set a title).
    return printable(out);
}

void Diagnostics::error(const Mark& at, std::string message) {
    add({at, Severity::error, std::move(message)});
}

void Diagnostics::warning(const Mark& at, std::string message) {
    add({at, Severity::warning, std::move(message)});
}

void Diagnostics::add(Diagnostic d) {
    auto same = [&](const Diagnostic& o) {
        return o.mark.file == d.mark.file && o.mark.line == d.mark.line && o.mark.col == d.mark.col &&
               o.severity == d.severity && o.message == d.message;
    };
    if (std::any_of(items_.begin(), items_.end(), same)) return;
    if (d.severity == Severity::error) ++errors_;
    items_.push_back(std::move(d));
}

void Diagnostics::announce_file(const std::string& file) {
    if (std::find(files_.begin(), files_.end(), file) == files_.end()) files_.push_back(file);
}

std::vector<Diagnostic> Diagnostics::sorted() const {
    std::map<std::string, std::size_t> file_order;
    for (const auto& f : files_) file_order.emplace(f, file_order.size());
    for (const auto& d : items_) file_order.emplace(d.mark.file, file_order.size());
    std::vector<Diagnostic> out = items_;
    std::stable_sort(out.begin(), out.end(), [&](const Diagnostic& a, const Diagnostic& b) {
        return std::tuple(file_order[a.mark.file], a.mark.line, a.mark.col) <
               std::tuple(file_order[b.mark.file], b.mark.line, b.mark.col);
    });
    return out;
}

}  // namespace mainstay::config
