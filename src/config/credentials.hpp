// `user:` and `group:` as ids: getpwnam, getgrnam and getgrouplist.
//
// The loader resolves them when the configuration is read, so that starting a service looks
// no name up. A name that does not resolve is no configuration error (a package may create the
// user later): `check` warns, and the runtime looks it up again at each start, the service
// `recovering` with "unknown user: NAME" until it resolves.
#pragma once

#include <optional>
#include <string>

#include "config/schema.hpp"

namespace mainstay::config {

struct CredentialsLookup {
    std::optional<Credentials> credentials;   // set when a name was given and every one resolved
    std::optional<std::string> unknown_user;  // the name, when it did not resolve
    std::optional<std::string> unknown_group;

    // Why there are no credentials: "unknown user: NAME", else "unknown group: NAME"; empty
    // when nothing is unknown.
    std::string reason() const;
};

CredentialsLookup resolve_credentials(const std::optional<std::string>& user, const std::optional<std::string>& group);

}  // namespace mainstay::config
