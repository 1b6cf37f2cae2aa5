// Diagnostics: every configuration problem, collected rather than thrown.
//
// The loader keeps going after a problem so that `mainstay check` can print every error at
// once, each as `FILE:LINE:COL: error: MESSAGE` (1-based line and column).
#pragma once

#include <string>
#include <vector>

namespace mainstay::config {

// A position in a source file. Line and column are 1-based; 0 means "the whole file".
struct Mark {
    std::string file;
    int line{0};
    int col{0};
};

enum class Severity { error, warning };

struct Diagnostic {
    Mark mark;
    Severity severity{Severity::error};
    std::string message;
};

std::string format(const Diagnostic& d);

class Diagnostics {
public:
    void error(const Mark& at, std::string message);
    void warning(const Mark& at, std::string message);

    // Files are listed in this order by sorted(), before any file not announced.
    void announce_file(const std::string& file);

    bool has_errors() const { return errors_ > 0; }
    std::size_t error_count() const { return errors_; }
    const std::vector<Diagnostic>& all() const { return items_; }

    // Ordered by file (announced files first, in that order), then line and column;
    // identical diagnostics (e.g. from a `defaults:` value merged into many services) once.
    std::vector<Diagnostic> sorted() const;

private:
    void add(Diagnostic d);
    std::vector<Diagnostic> items_;
    std::vector<std::string> files_;
    std::size_t errors_{0};
};

}  // namespace mainstay::config
