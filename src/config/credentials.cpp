#include "config/credentials.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
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

// getpwnam_r and getgrnam_r (the configuration is read again off the loop thread, at a reload,
// while the loop may look a name up for a spawn): the entry in `buffer`, null when none.
template <class Entry, class Lookup>
const Entry* lookup_name(Lookup lookup, const std::string& name, Entry& entry, std::vector<char>& buffer) {
    buffer.resize(16384);
    for (int tries = 0; tries < 4; ++tries) {
        Entry* found = nullptr;
        const int rc = lookup(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
        if (rc != ERANGE) return rc == 0 ? found : nullptr;
        buffer.resize(buffer.size() * 4);
    }
    return nullptr;
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
        passwd entry{};
        std::vector<char> buffer;
        if (const passwd* pw = lookup_name(::getpwnam_r, *user, entry, buffer)) {
            c.uid = pw->pw_uid;
            c.gid = pw->pw_gid;
        } else {
            out.unknown_user = *user;
        }
    }
    if (group) {
        struct group entry {};
        std::vector<char> buffer;
        if (const struct group* gr = lookup_name(::getgrnam_r, *group, entry, buffer))
            c.gid = gr->gr_gid;
        else
            out.unknown_group = *group;
    }
    if (out.unknown_user || out.unknown_group) return out;
    c.groups = user ? groups_of(*user, c.gid) : std::vector<gid_t>{c.gid};
    out.credentials = std::move(c);
    return out;
}

}  // namespace mainstay::config
