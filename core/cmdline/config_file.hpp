// A server's flags read from a TOML file (`--config FILE`): each key is a
// flag's name (`port = 8765`, `api-key-file = "/etc/..."`), and a table
// prefixes its keys (`[grafana] secret-file = ...` is `grafana-secret-file`).
// Strings, integers and booleans for single flags, arrays of strings for
// repeatable ones. Unknown keys and wrong types are refused, naming the line.
#pragma once

#include "core/cmdline/args.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pulse {

using ConfigValues = FileValues;

/// nullopt with `why` ("FILE:LINE: unknown key \"prot\" (did you mean port?)")
/// when the file cannot be read or parsed, or names what no flag takes.
std::optional<ConfigValues> load_config_file(const std::string& path, const std::vector<FlagSpec>& specs,
                                             std::string& why);

/// parse_args with the config file that `--config` (or its variable) names
/// as the layer below the environment; `specs` must declare "config".
std::optional<ParsedArgs> parse_args_with_config(const std::vector<std::string>& args,
                                                 const std::vector<FlagSpec>& specs, const Env& env, std::string& why);

}  // namespace pulse
