// StatusFile: the newest document reaches the disk atomically, older ones are coalesced, a
// failing path is reported once.
#include "serve/status_file.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

using namespace mainstay::serve;
using namespace std::chrono_literals;

namespace {

std::filesystem::path temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mainstay-status-XXXXXX").string();
    return ::mkdtemp(tmpl.data());
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

bool eventually(const std::function<bool()>& f) {
    const auto end = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < end) {
        if (f()) return true;
        std::this_thread::sleep_for(2ms);
    }
    return f();
}

}  // namespace

TEST_CASE("status file: 1000 documents put at once end with the last on disk, coalesced, no temporary left") {
    const auto dir = temp_dir();
    const auto path = dir / "run" / "status.json";  // the directory is created
    {
        StatusFile file(path, nullptr);
        for (int i = 0; i < 1000; ++i) file.put("{\"n\": " + std::to_string(i) + "}\n");
        CHECK(eventually([&] { return slurp(path) == "{\"n\": 999}\n"; }));
        // The writer counts a document once its rename is done: just after it shows on disk.
        CHECK(eventually([&] { return file.written() >= 1; }));
        CHECK(file.written() < 1000);  // coalesced: fsync is far slower than put
    }
    // No temporary left beside it.
    for (const auto& e : std::filesystem::directory_iterator(path.parent_path())) CHECK(e.path() == path);
    std::filesystem::remove_all(dir);
}

TEST_CASE("status file: the last document put before destruction is written") {
    const auto dir = temp_dir();
    const auto path = dir / "status.json";
    {
        StatusFile file(path, nullptr);
        file.put("first\n");
        file.put("last\n");
    }
    CHECK(slurp(path) == "last\n");
    std::filesystem::remove_all(dir);
}

TEST_CASE("status file: a path that cannot be written is reported once, not per document") {
    const auto dir = temp_dir();
    std::ofstream(dir / "file") << "x";
    const auto path = dir / "file" / "status.json";  // its parent is a regular file
    std::mutex m;
    std::vector<std::string> reports;
    {
        StatusFile file(path, [&](const std::string& line) {
            std::lock_guard lock(m);
            reports.push_back(line);
        });
        for (int i = 0; i < 5; ++i) {
            file.put("doc\n");
            std::this_thread::sleep_for(5ms);
        }
        CHECK(eventually([&] {
            std::lock_guard lock(m);
            return !reports.empty();
        }));
    }
    std::lock_guard lock(m);
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].find("status file: cannot create a temporary beside " + path.string()) == 0);
    std::filesystem::remove_all(dir);
}

TEST_CASE("status file: links planted where it writes are never followed, their targets stay untouched") {
    const auto dir = temp_dir();
    const auto path = dir / "status.json";
    std::ofstream(dir / "precious") << "keep me\n";
    // The names a writer might use for its temporary, and the file itself.
    std::filesystem::create_symlink(dir / "precious", path.string() + ".tmp");
    {
        StatusFile file(path, nullptr);
        file.put("{}\n");
    }
    CHECK(slurp(dir / "precious") == "keep me\n");
    CHECK(slurp(path) == "{}\n");
    std::filesystem::remove(path);
    std::filesystem::create_symlink(dir / "precious", path);  // a link at the status file's own name
    {
        StatusFile file(path, nullptr);
        file.put("{\"n\": 2}\n");
    }
    CHECK(slurp(dir / "precious") == "keep me\n");  // the link was replaced, not written through
    CHECK(!std::filesystem::is_symlink(path));
    CHECK(slurp(path) == "{\"n\": 2}\n");
    std::filesystem::remove_all(dir);
}
