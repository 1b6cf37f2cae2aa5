// The pure parts of the cgroup, record and /proc code, and one real cgroup where the machine
// has a writable cgroup v2.
#include "runtime/cgroup.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "runtime/group_records.hpp"
#include "runtime/leftovers.hpp"
#include "runtime/proc.hpp"
#include "runtime/spawner.hpp"

using namespace mainstay::runtime;

TEST_CASE("mountinfo: the cgroup2 mount is found wherever it is, with its root and escapes decoded") {
    const std::string hybrid =
        "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n";
    auto m = cgroup::parse_mountinfo(hybrid);
    REQUIRE(m);
    CHECK(m->point == "/sys/fs/cgroup/unified");
    CHECK(m->root == "/");
    auto odd =
        cgroup::parse_mountinfo("7 1 0:9 /a\\040b /my\\040cg rw master:1 shared:2 - cgroup2 none rw,nsdelegate\n");
    REQUIRE(odd);
    CHECK(odd->point == "/my cg");
    CHECK(odd->root == "/a b");
    CHECK_FALSE(cgroup::parse_mountinfo("31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"));
    CHECK_FALSE(cgroup::parse_mountinfo(""));
    CHECK_FALSE(cgroup::parse_mountinfo("garbage without the separator cgroup2\n"));
}

TEST_CASE("/proc/self/cgroup: the 0:: line is the v2 path, v1 lines are ignored") {
    CHECK(cgroup::parse_proc_cgroup("9:name=systemd:/\n4:memory:/x\n0::/\n") == "/");
    CHECK(cgroup::parse_proc_cgroup("0::/system.slice/mainstay.service\n") == "/system.slice/mainstay.service");
    CHECK_FALSE(cgroup::parse_proc_cgroup("4:memory:/x\n1:cpu:/\n"));
}

TEST_CASE("a cgroup path is located under the mount, relative to the mount's root") {
    cgroup::Mount m{"/sys/fs/cgroup", "/"};
    CHECK(cgroup::locate(m, "/") == std::filesystem::path("/sys/fs/cgroup"));
    CHECK(cgroup::locate(m, "/a/b") == std::filesystem::path("/sys/fs/cgroup/a/b"));
    cgroup::Mount bound{"/mnt/cg", "/system.slice"};
    CHECK(cgroup::locate(bound, "/system.slice/x.service") == std::filesystem::path("/mnt/cg/x.service"));
    CHECK(cgroup::locate(bound, "/system.slice") == std::filesystem::path("/mnt/cg"));
    CHECK_FALSE(cgroup::locate(bound, "/user.slice/y"));
    CHECK_FALSE(cgroup::locate(bound, "/system.slicex/y"));
    CHECK_FALSE(cgroup::locate(m, "/a/../../etc"));
    CHECK_FALSE(cgroup::locate(m, ""));
}

TEST_CASE("limits become cgroup v2 values, and procs and controllers texts are read") {
    CHECK(cgroup::cpu_max(1.5) == "150000 100000");
    CHECK(cgroup::cpu_max(0.25) == "25000 100000");
    CHECK(cgroup::cpu_max(0.001) == "1000 100000");  // the kernel's minimum
    CHECK(cgroup::parse_pids("12\n345\n\nx\n-3\n") == std::vector<int>{12, 345});
    CHECK(cgroup::parse_words("cpu io memory pids\n") == std::vector<std::string>{"cpu", "io", "memory", "pids"});
    mainstay::config::LimitsSpec l;
    l.memory = 1 << 20;
    l.pids = 10;
    CHECK(cgroup::controllers_for(l) == std::vector<std::string>{"memory", "pids"});
    CHECK(cgroup::instance_dir_name("00ff") == "mainstay-00ff");
}

TEST_CASE("a group record round-trips, and a cut or strange file is no record") {
    GroupRecord r{4242, 123456789, "0d3c2b8e-1f6a-4b2c-9d41-2a7e0c9b5f10", "web"};
    const std::string text = format_record(r);
    CHECK(text == "4242 123456789 0d3c2b8e-1f6a-4b2c-9d41-2a7e0c9b5f10 web\n");
    CHECK(parse_record(text) == r);
    CHECK_FALSE(parse_record(text.substr(0, text.size() - 1)));  // no newline: cut short
    CHECK_FALSE(parse_record("4242 123 boot\n"));
    CHECK_FALSE(parse_record("1 123 boot web\n"));  // never init
    CHECK_FALSE(parse_record("-5 123 boot web\n"));
    CHECK_FALSE(parse_record("42x 123 boot web\n"));
    CHECK_FALSE(parse_record("42 123 boot web\n43 1 b w\n"));
}

TEST_CASE("/proc/PID/stat: fields after a command name with spaces and parentheses") {
    auto s =
        proc::parse_stat("812 (my (odd) name) S 1 812 812 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100");
    REQUIRE(s);
    CHECK(s->pid == 812);
    CHECK(s->comm == "my (odd) name");
    CHECK(s->state == 'S');
    CHECK(s->ppid == 1);
    CHECK(s->pgid == 812);
    CHECK(s->sid == 812);
    CHECK(s->utime == 1);
    CHECK(s->stime == 2);
    CHECK(s->start_time == 987654);
    CHECK_FALSE(proc::parse_stat("812 (short) S 1 2"));
    auto self = proc::stat(::getpid());
    REQUIRE(self);
    CHECK(self->pid == ::getpid());
    CHECK(self->start_time > 0);
    CHECK(proc::boot_id().size() == 36);
}

TEST_CASE("the instance id depends on the lock file's path only") {
    CHECK(instance_id("/run/mainstay/control.sock.lock") == instance_id("/run/mainstay/control.sock.lock"));
    CHECK(instance_id("/run/mainstay/control.sock.lock") != instance_id("/run/other/control.sock.lock"));
    CHECK(instance_id("/x").size() == 16);
}

namespace {

// A subtree of the test's own where cgroup v2 is writable; nullptr (and a message) elsewhere.
std::unique_ptr<CgroupTree> test_tree(const std::string& name) {
    std::string why;
    auto self = cgroup::find_self(why);
    std::unique_ptr<CgroupTree> tree;
    if (self)
        tree = CgroupTree::create(*self, instance_id("/nonexistent/" + name + "." + std::to_string(::getpid())), why);
    if (!tree) MESSAGE("skipped: " << why);
    return tree;
}

}  // namespace

TEST_CASE("for real: a child is in its cgroup before exec, and cgroup kill ends it and what it forked") {
    auto tree = test_tree("cgroup_test");
    if (!tree) return;
    std::string error;
    const auto before = proc::read_file("/proc/self/cgroup");
    const int leaf_fd = tree->open_leaf(CgroupTree::service_leaf("t"), error);
    REQUIRE(leaf_fd != -1);
    SpawnRequest request;
    request.name = "t";
    request.argv = {"/bin/sh", "-c", "sleep 600 & sleep 600"};
    request.cgroup_fd = leaf_fd;
    auto outcome = spawn(request);
    ::close(leaf_fd);
    REQUIRE(outcome.spawned);
    const int pid = outcome.spawned->pid;
    REQUIRE(pid > 1);
    ::close(outcome.spawned->output_fd);
    auto own = proc::read_file("/proc/" + std::to_string(pid) + "/cgroup");
    REQUIRE(own);
    CHECK(own->find("/" + tree->dir().filename().string() + "/service.t\n") != std::string::npos);
    CHECK(proc::read_file("/proc/self/cgroup") == before);  // only the child moved
    const auto leaf = tree->dir() / "service.t";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (cgroup::pids_in(leaf).size() < 3 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(cgroup::pids_in(leaf).size() == 3);  // sh and both sleeps
    CHECK_FALSE(tree->remove("service.t"));    // busy
    tree->signal("service.t", SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    while (!tree->clear() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK_FALSE(std::filesystem::exists(tree->dir()));
}

TEST_CASE(
    "for real: a child is born in its cgroup: its first instruction already runs there (clone3 CLONE_INTO_CGROUP)") {
    auto tree = test_tree("cgroup_birth");
    if (!tree) return;
    std::string error;
    const int leaf_fd = tree->open_leaf(CgroupTree::service_leaf("b"), error);
    REQUIRE(leaf_fd != -1);
    SpawnRequest request;
    request.name = "b";
    // The program's first act: where does it run?
    request.argv = {"/bin/cat", "/proc/self/cgroup"};
    request.cgroup_fd = leaf_fd;
    auto outcome = spawn(request);
    ::close(leaf_fd);
    REQUIRE(outcome.spawned);
    REQUIRE(outcome.spawned->pid > 1);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(outcome.spawned->output_fd, buf, sizeof buf)) > 0;)
        text.append(buf, static_cast<std::size_t>(n));
    ::close(outcome.spawned->output_fd);
    int status = 0;
    REQUIRE(::waitpid(outcome.spawned->pid, &status, 0) == outcome.spawned->pid);
    CHECK(text.find("/" + tree->dir().filename().string() + "/service.b\n") != std::string::npos);
    // Linux 5.7+ (clone3 with CLONE_INTO_CGROUP): born there; before, moved there before exec.
    struct utsname u {};
    ::uname(&u);
    int major = 0, minor = 0;
    std::sscanf(u.release, "%d.%d", &major, &minor);
    [[maybe_unused]] const bool has_clone_into_cgroup = major > 5 || (major == 5 && minor >= 7);
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    if (has_clone_into_cgroup)
        CHECK(outcome.spawned->born_in_cgroup);
    else
        MESSAGE("kernel " << u.release << " has no CLONE_INTO_CGROUP: moved into its cgroup before exec instead");
#else
    MESSAGE("this build starts children with vfork (sanitizer or architecture): moved into the cgroup before exec");
#endif
    CHECK(tree->clear());
}
