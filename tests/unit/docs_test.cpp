// The documents, held to what the README promises: a user's page of at most ~300 lines, and
// every relative link of README.md and docs/*.md pointing at a file (and heading) that exists.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
const fs::path kRoot(MAINSTAY_SOURCE_DIR);

std::vector<std::string> lines_of(const fs::path& file) {
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// GitHub's anchor of a heading: lowercase, spaces to '-', punctuation but '-' and '_' dropped.
std::string anchor_of(const std::string& heading) {
    std::string out;
    for (unsigned char c : heading) {
        if (std::isalnum(c) || c == '-' || c == '_')
            out += static_cast<char>(std::tolower(c));
        else if (c == ' ')
            out += '-';
        else if (c >= 0x80)
            out += static_cast<char>(c);
    }
    return out;
}

std::set<std::string> anchors_of(const fs::path& file) {
    std::set<std::string> out;
    bool fenced = false;
    for (const auto& line : lines_of(file)) {
        if (line.rfind("```", 0) == 0) fenced = !fenced;
        if (fenced || line.empty() || line[0] != '#') continue;
        const auto text = line.find_first_not_of('#');
        if (text == std::string::npos) continue;
        out.insert(anchor_of(line.substr(line.find_first_not_of(' ', text))));
    }
    return out;
}

// "FILE:LINE: (target)" for each relative link that does not resolve.
std::vector<std::string> broken_links(const fs::path& file) {
    std::vector<std::string> out;
    int number = 0;
    bool fenced = false;
    for (const auto& line : lines_of(file)) {
        ++number;
        if (line.rfind("```", 0) == 0) fenced = !fenced;
        if (fenced) continue;
        for (auto at = line.find("]("); at != std::string::npos; at = line.find("](", at + 2)) {
            const auto end = line.find(')', at + 2);
            if (end == std::string::npos) break;
            const std::string target = line.substr(at + 2, end - at - 2);
            if (target.empty() || target.find("://") != std::string::npos || target.rfind("mailto:", 0) == 0) continue;
            const auto hash = target.find('#');
            const std::string path = target.substr(0, hash);
            const fs::path resolved = path.empty() ? file : file.parent_path() / path;
            bool ok = fs::exists(resolved);
            if (ok && hash != std::string::npos && resolved.extension() == ".md") {
                ok = anchors_of(resolved).count(target.substr(hash + 1)) != 0;
            }
            if (!ok)
                out.push_back(fs::relative(file, kRoot).string() + ":" + std::to_string(number) + ": (" + target + ")");
        }
    }
    return out;
}

}  // namespace

TEST_CASE("the README is a user's page: at most about 300 lines") {
    const auto lines = lines_of(kRoot / "README.md");
    CHECK(lines.size() > 50);
    CHECK(lines.size() <= 300);
}

TEST_CASE("every relative link of the README and docs/ resolves, headings included") {
    std::vector<fs::path> files{kRoot / "README.md"};
    for (const auto& e : fs::directory_iterator(kRoot / "docs")) {
        if (e.path().extension() == ".md") files.push_back(e.path());
    }
    CHECK(files.size() >= 5);
    std::string broken;
    for (const auto& f : files) {
        for (const auto& b : broken_links(f)) broken += b + "\n";
    }
    INFO(broken);
    CHECK(broken.empty());
}

TEST_CASE("the link check sees a missing file and a missing heading") {
    const fs::path dir = fs::temp_directory_path() / ("mainstay-docs-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "a.md")
        << "# Title here\n\n[ok](a.md#title-here) [gone](b.md) [no](#nowhere) [web](https://x.org)\n";
    const auto broken = broken_links(dir / "a.md");
    fs::remove_all(dir);
    REQUIRE(broken.size() == 2);
    CHECK(broken[0].find("(b.md)") != std::string::npos);
    CHECK(broken[1].find("(#nowhere)") != std::string::npos);
}
