// The spawner's use of `user:`/`group:`: the ids come resolved from the configuration; a name
// that did not resolve then is looked up again at each start, and still unknown is a reason.
#include "runtime/spawner.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

using namespace mainstay;

namespace {

// Waits for a child this test started, closes its pipes; its exit code, or -1.
int reap(const runtime::Spawned& s) {
    ::close(s.output_fd);
    int status = 0;
    while (::waitpid(s.pid, &status, 0) == -1 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

runtime::SpawnRequest request(std::optional<std::string> user, std::optional<std::string> group) {
    runtime::SpawnRequest r;
    r.name = "spawner-test";
    r.argv = {"true"};
    r.user = std::move(user);
    r.group = std::move(group);
    return r;
}

}  // namespace

TEST_CASE("an unknown user or group is a reason not to start, naming it, nothing is forked") {
    auto user = runtime::spawn(request("no-such-user-mainstay", std::nullopt));
    CHECK_FALSE(user.spawned);
    CHECK(user.error == "unknown user: no-such-user-mainstay");
    auto group = runtime::spawn(request(std::nullopt, "no-such-group-mainstay"));
    CHECK_FALSE(group.spawned);
    CHECK(group.error == "unknown group: no-such-group-mainstay");
    auto both = runtime::spawn(request("no-such-user-mainstay", "no-such-group-mainstay"));
    CHECK(both.error == "unknown user: no-such-user-mainstay");
}

TEST_CASE("the ids resolved with the configuration are used as they are, without a lookup") {
    // The name does not resolve on this machine; the ids given with it do (root's): only a
    // spawner that takes the ids from the request starts the child.
    auto r = request("no-such-user-mainstay", std::nullopt);
    r.credentials = config::Credentials{0, 0, {0}};
    auto outcome = runtime::spawn(r);
    if (::geteuid() != 0) {
        CHECK(outcome.error == "user/group need mainstay to run as root");
        return;
    }
    INFO(outcome.error);
    REQUIRE(outcome.spawned);
    CHECK(reap(*outcome.spawned) == 0);
}

TEST_CASE("a user that resolves at start although it did not with the configuration is used") {
    // root exists everywhere: a request carrying the name but no ids (as after a load where the
    // name was unknown) is resolved again at the start.
    auto outcome = runtime::spawn(request("root", "root"));
    if (::geteuid() != 0) {
        CHECK(outcome.error == "user/group need mainstay to run as root");
        return;
    }
    INFO(outcome.error);
    REQUIRE(outcome.spawned);
    CHECK(reap(*outcome.spawned) == 0);
}
