#include "runtime/rotating_file.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>

#include <fstream>
#include <iterator>
#include <string>

#include "harness.hpp"
#include "runtime/instance_lock.hpp"

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

// A disk that fills in the middle of a write: the kernel takes part of it. Lines must stay whole
// in the file (no torn line for the next one to be glued to once there is room again); here the
// file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) plays the full disk.
TEST_CASE("a write cut short by a full disk leaves no torn line in the file") {
    std::string tmpl = (fs::temp_directory_path() / "mainstay-rot-XXXXXX").string();
    fs::path dir = ::mkdtemp(tmpl.data());
    rlimit before{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &before) == 0);
    struct sigaction ignore {
    }, old{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGXFSZ, &ignore, &old);
    rlimit small = before;
    small.rlim_cur = 250;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::size_t first = 0, second = 0;
    bool failing_after = false;
    {
        RotatingFile f(dir / "svc.log", 1 << 20, 2);
        first = f.write(std::string(99, 'a') + "\n" + std::string(99, 'b') + "\n");  // 200 bytes: all in
        second = f.write(std::string(99, 'c') + "\n");                               // 50 of its 100 bytes would fit
        failing_after = f.failing();
        ::setrlimit(RLIMIT_FSIZE, &before);  // room again
        f.write("d\n");
        CHECK_FALSE(f.failing());
    }
    ::setrlimit(RLIMIT_FSIZE, &before);
    ::sigaction(SIGXFSZ, &old, nullptr);
    CHECK(first == 200);
    CHECK(second == 0);  // nothing of the cut line counts as written
    CHECK(failing_after);
    std::ifstream in(dir / "svc.log");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == std::string(99, 'a') + "\n" + std::string(99, 'b') + "\nd\n");
    std::error_code ec;
    fs::remove_all(dir, ec);
}

TEST_CASE("links planted at a log's name or at the lock file are refused, never written through") {
    std::string tmpl = (fs::temp_directory_path() / "mainstay-link-XXXXXX").string();
    fs::path dir = ::mkdtemp(tmpl.data());
    std::ofstream(dir / "precious") << "keep me\n";
    fs::create_symlink(dir / "precious", dir / "svc.log");
    {
        RotatingFile f(dir / "svc.log", 1 << 20, 2);
        f.write("a line\n");
        CHECK(f.dropped_writes() == 1);  // refused: the file cannot be opened
    }
    CHECK(mainstay::testing::read_lines(dir / "precious") == std::vector<std::string>{"keep me"});
    fs::create_symlink(dir / "precious", dir / "mainstay.lock");
    std::string error;
    bool held = false;
    CHECK_FALSE(mainstay::runtime::InstanceLock::acquire(dir / "mainstay.lock", error, held).has_value());
    CHECK_FALSE(held);
    CHECK(error ==
          "lock file " + (dir / "mainstay.lock").string() + " is a symbolic link: refused (remove it if it is yours)");
    CHECK(mainstay::testing::read_lines(dir / "precious") == std::vector<std::string>{"keep me"});  // not truncated
    std::error_code ec;
    fs::remove_all(dir, ec);
}
