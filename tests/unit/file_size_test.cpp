// The house's size rule: no source file over 600 lines (src/, tests/, bench/, fuzz/). A file
// that grows past it is split by what its parts do, as the rest of the tree is.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
const fs::path kRoot(MAINSTAY_SOURCE_DIR);
constexpr std::size_t kMaxLines = 600;

bool is_source(const fs::path& p) {
    const auto ext = p.extension();
    return ext == ".cpp" || ext == ".hpp" || ext == ".c" || ext == ".h";
}

std::size_t line_count(const fs::path& file) {
    std::ifstream in(file);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
}

// "PATH: N lines" for each source file under `root`'s `folders` over `limit` lines.
std::vector<std::string> oversized(const fs::path& root, const std::vector<std::string>& folders, std::size_t limit) {
    std::vector<std::string> out;
    for (const auto& folder : folders) {
        if (!fs::is_directory(root / folder)) continue;
        for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
            if (!entry.is_regular_file() || !is_source(entry.path())) continue;
            const std::size_t n = line_count(entry.path());
            if (n > limit) {
                out.push_back(fs::relative(entry.path(), root).string() + ": " + std::to_string(n) + " lines");
            }
        }
    }
    return out;
}

}  // namespace

TEST_CASE("no source file of the tree is over 600 lines") {
    const auto over = oversized(kRoot, {"src", "tests", "bench", "fuzz"}, kMaxLines);
    for (const auto& file : over) MESSAGE(file << " (over " << kMaxLines << "): split it by what its parts do");
    CHECK(over.empty());
}

TEST_CASE("the size check names a source file over the limit and leaves the rest") {
    const fs::path root = fs::temp_directory_path() / ("mainstay-size-" + std::to_string(::getpid()));
    fs::create_directories(root / "src" / "x");
    {
        std::ofstream big(root / "src" / "x" / "big.cpp");
        for (int i = 0; i < 601; ++i) big << "int a" << i << ";\n";
        std::ofstream small(root / "src" / "x" / "small.hpp");
        for (int i = 0; i < 600; ++i) small << "// " << i << "\n";
        std::ofstream text(root / "src" / "x" / "notes.md");
        for (int i = 0; i < 900; ++i) text << "line\n";
    }
    const auto over = oversized(root, {"src"}, kMaxLines);
    fs::remove_all(root);
    REQUIRE(over.size() == 1);
    CHECK(over[0] == "src/x/big.cpp: 601 lines");
}
