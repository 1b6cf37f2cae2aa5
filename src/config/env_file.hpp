// Reading `env_file`s: one `KEY=VALUE` a line, as docker compose and systemd accept them.
//
// Blank lines and lines starting with `#` are skipped; `export ` before a name is allowed;
// a value in single quotes is literal, in double quotes `\n`, `\"` and `\\` are unescaped.
#pragma once

#include <string>

#include "config/diagnostics.hpp"
#include "config/schema.hpp"

namespace mainstay::config {

// Appends the file's variables to `out`; problems are reported at the file's own lines.
// Returns false (with an error at `referenced_at`) when the file cannot be read.
bool read_env_file(const Path& file, const Mark& referenced_at, EnvVars& out, Diagnostics& diags);
void parse_env_text(const std::string& text, const std::string& file_name, EnvVars& out, Diagnostics& diags);

}  // namespace mainstay::config
