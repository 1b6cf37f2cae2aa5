// Environment interpolation of scalar values, with docker compose's rules.
//
// `${VAR}`, `${VAR:-default}` (when unset or empty), `${VAR-default}` (when unset),
// `${VAR:?message}` (error when unset or empty), `${VAR?message}` (error when unset),
// `$$` a literal `$`. An unset `${VAR}` becomes "" with a warning. A `$` followed by anything
// else is kept as it is; `$NAME` without braces is not interpolated.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mainstay::config {

// The variables interpolation may read, injected so that tests never touch the real environment.
class Environment {
public:
    Environment() = default;
    Environment(std::initializer_list<std::pair<const std::string, std::string>> vars) : vars_(vars) {}
    static Environment from_process();  // reads `environ`

    std::optional<std::string> get(std::string_view name) const;
    void set(std::string name, std::string value) { vars_[std::move(name)] = std::move(value); }

private:
    std::map<std::string, std::string, std::less<>> vars_;
};

struct Interpolated {
    std::string text;
    std::vector<std::string> warnings;
    std::vector<std::string> errors;
};

Interpolated interpolate(std::string_view text, const Environment& env);

}  // namespace mainstay::config
