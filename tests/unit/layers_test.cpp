// The architecture, enforced: every #include of every file under src/ against src/LAYERS, the
// one file that says which folder may use which (see its comments). A new arrow is a change to
// that file, made on purpose and reviewed, not an include that slipped in.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Layers {
    std::map<std::string, std::set<std::string>> allowed;    // folder -> folders or header paths
    std::map<std::string, std::vector<std::string>> banned;  // folder -> system header prefixes
};

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// "folder: a b/c.hpp" allows; "folder ! boost/asio unistd.h" bans; '#' starts a comment.
Layers parse_layers(const std::string& text, std::vector<std::string>& errors) {
    Layers layers;
    std::istringstream in(text);
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        line = line.substr(0, line.find('#'));
        if (words(line).empty()) continue;
        const auto colon = line.find(':');
        const auto bang = line.find('!');
        if (colon != std::string::npos && (bang == std::string::npos || colon < bang)) {
            const auto name = words(line.substr(0, colon));
            if (name.size() != 1) {
                errors.push_back("LAYERS:" + std::to_string(number) + ": one folder before ':'");
                continue;
            }
            auto& set = layers.allowed[name[0]];
            for (const auto& w : words(line.substr(colon + 1))) set.insert(w);
        } else if (bang != std::string::npos) {
            const auto name = words(line.substr(0, bang));
            if (name.size() != 1) {
                errors.push_back("LAYERS:" + std::to_string(number) + ": one folder before '!'");
                continue;
            }
            for (const auto& w : words(line.substr(bang + 1))) layers.banned[name[0]].push_back(w);
        } else {
            errors.push_back("LAYERS:" + std::to_string(number) + ": neither 'FOLDER: ...' nor 'FOLDER ! ...'");
        }
    }
    return layers;
}

// What is wrong with the includes of one file of `folder` ("src/x/y.cpp:12: ..." each).
std::vector<std::string> check_file(const Layers& layers, const std::string& folder, const std::string& where,
                                    const std::string& text) {
    std::vector<std::string> out;
    auto allowed = layers.allowed.find(folder);
    if (allowed == layers.allowed.end()) return {where + ": its folder '" + folder + "' has no line in src/LAYERS"};
    std::istringstream in(text);
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        const auto start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line.compare(start, 8, "#include") != 0) continue;
        const auto open = line.find_first_of("\"<", start + 8);
        if (open == std::string::npos) continue;
        const auto close = line.find(line[open] == '"' ? '"' : '>', open + 1);
        if (close == std::string::npos) continue;
        const std::string header = line.substr(open + 1, close - open - 1);
        const std::string at = where + ":" + std::to_string(number) + ": ";
        if (line[open] == '"') {
            const auto slash = header.find('/');
            if (slash == std::string::npos) continue;  // a file beside it (generated or local)
            const std::string to = header.substr(0, slash);
            if (to == folder || allowed->second.count(to) != 0 || allowed->second.count(header) != 0) continue;
            out.push_back(at + "includes \"" + header + "\": " + folder + " may not use " + to + " (src/LAYERS)");
        } else if (auto banned = layers.banned.find(folder); banned != layers.banned.end()) {
            for (const auto& prefix : banned->second) {
                if (header.rfind(prefix, 0) == 0) {
                    out.push_back(at + "includes <" + header + ">: " + folder + " may not (src/LAYERS: " + folder +
                                  " ! " + prefix + ")");
                }
            }
        }
    }
    return out;
}

std::string read(const fs::path& file) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

const fs::path kSource = fs::path(MAINSTAY_SOURCE_DIR) / "src";

}  // namespace

TEST_CASE("the layering check finds a forbidden include, a banned system header and an unplaced folder") {
    std::vector<std::string> errors;
    const Layers layers = parse_layers(
        "# comment\nresilience:\nsupervisor: config resilience\nsupervisor ! boost/asio unistd.h\n"
        "report: supervisor/status_model.hpp\n",
        errors);
    CHECK(errors.empty());
    CHECK(check_file(layers, "supervisor", "s.cpp", "#include \"config/schema.hpp\"\n#include <string>\n").empty());
    const auto up = check_file(layers, "resilience", "src/resilience/backoff.cpp",
                               "#include <vector>\n#include \"supervisor/service.hpp\"\n");
    REQUIRE(up.size() == 1);
    CHECK(up[0] ==
          "src/resilience/backoff.cpp:2: includes \"supervisor/service.hpp\": resilience may not use supervisor "
          "(src/LAYERS)");
    const auto os =
        check_file(layers, "supervisor", "x.cpp", "  #include <boost/asio/io_context.hpp>\n#include <unistd.h>\n");
    CHECK(os.size() == 2);
    CHECK(check_file(layers, "report", "r.cpp", "#include \"supervisor/status_model.hpp\"\n").empty());
    CHECK(check_file(layers, "report", "r.cpp", "#include \"supervisor/supervisor.hpp\"\n").size() == 1);
    CHECK(check_file(layers, "serve", "v.cpp", "").size() == 1);
    parse_layers("nonsense line\n", errors);
    CHECK(errors.size() == 1);
}

TEST_CASE("every include under src/ follows src/LAYERS") {
    std::vector<std::string> errors;
    const Layers layers = parse_layers(read(kSource / "LAYERS"), errors);
    REQUIRE(!layers.allowed.empty());
    std::size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(kSource)) {
        if (!entry.is_regular_file()) continue;
        const auto ext = entry.path().extension();
        if (ext != ".cpp" && ext != ".hpp" && ext != ".in") continue;
        const fs::path relative = fs::relative(entry.path(), kSource);
        // A file at the top (main.cpp) is the folder "main".
        const std::string folder =
            std::distance(relative.begin(), relative.end()) == 1 ? "main" : relative.begin()->string();
        for (auto& e : check_file(layers, folder, "src/" + relative.string(), read(entry.path())))
            errors.push_back(std::move(e));
        ++files;
    }
    CHECK(files > 100);
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    INFO(all);
    CHECK(errors.empty());
}
