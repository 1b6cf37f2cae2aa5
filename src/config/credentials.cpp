#include "config/credentials.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <vector>

namespace mainstay::config {
namespace {

// The user's groups (its primary group `gid` included) from the group database.
std::vector<gid_t> groups_of(const std::string& user, gid_t gid) {
    std::vector<gid_t> groups(32);
    // A -1 answer sets `n` to the count needed; the database may grow between two calls.
    for (int tries = 0; tries < 4; ++tries) {
        int n = static_cast<int>(groups.size());
        if (::getgrouplist(user.c_str(), gid, groups.data(), &n) != -1) {
            groups.resize(static_cast<std::size_t>(n));
            return groups;
        }
        groups.resize(std::max(static_cast<std::size_t>(n), groups.size() * 2));
    }
    return {gid};
}

}  // namespace

std::string CredentialsLookup::reason() const {
    if (unknown_user) return "unknown user: " + *unknown_user;
    if (unknown_group) return "unknown group: " + *unknown_group;
    return {};
}

CredentialsLookup resolve_credentials(const std::optional<std::string>& user, const std::optional<std::string>& group) {
    CredentialsLookup out;
    if (!user && !group) return out;
    Credentials c;
    if (user) {
        if (const passwd* pw = ::getpwnam(user->c_str())) {
            c.uid = pw->pw_uid;
            c.gid = pw->pw_gid;
        } else {
            out.unknown_user = *user;
        }
    }
    if (group) {
        if (const struct group* gr = ::getgrnam(group->c_str())) c.gid = gr->gr_gid;
        else out.unknown_group = *group;
    }
    if (out.unknown_user || out.unknown_group) return out;
    c.groups = user ? groups_of(*user, c.gid) : std::vector<gid_t>{c.gid};
    out.credentials = std::move(c);
    return out;
}

}  // namespace mainstay::config
