#include <doctest/doctest.h>

#include <string>

#include "harness.hpp"
#include "runtime/rotating_file.hpp"

using mainstay::runtime::RotatingFile;
namespace fs = std::filesystem;

TEST_CASE("a rotating file keeps the current file and max_files older ones, like the main log") {
    std::string tmpl = (fs::temp_directory_path() / "mainstay-rot-XXXXXX").string();
    fs::path dir = ::mkdtemp(tmpl.data());
    {
        RotatingFile f(dir / "svc.log", 100, 2);
        for (int i = 0; i < 10; ++i) f.write(std::string(59, static_cast<char>('a' + i)) + "\n");  // 60 bytes each
        CHECK(f.dropped_writes() == 0);
    }
    // Each write of 60 bytes fills a file: 10 writes, the newest in svc.log, two older kept.
    CHECK(mainstay::testing::read_lines(dir / "svc.log") == std::vector<std::string>{std::string(59, 'j')});
    CHECK(mainstay::testing::read_lines(dir / "svc.log.1") == std::vector<std::string>{std::string(59, 'i')});
    CHECK(mainstay::testing::read_lines(dir / "svc.log.2") == std::vector<std::string>{std::string(59, 'h')});
    CHECK_FALSE(fs::exists(dir / "svc.log.3"));
    {
        RotatingFile again(dir / "svc.log", 100, 2);  // appends to what is there
        again.write("x\n");
    }
    CHECK(mainstay::testing::read_lines(dir / "svc.log").size() == 2);
    std::error_code ec;
    fs::remove_all(dir, ec);
}
