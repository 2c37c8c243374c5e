// Command-line flags: "--name value", "--name=value", boolean switches,
// repeatable flags, positionals and "--". Each command declares its flags
// in a table; anything undeclared is an error, never silently ignored.
#pragma once

#include "core/util/env.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

struct FlagSpec {
  std::string_view name = {};        ///< without dashes: "api-key"
  std::string_view value_name = {};  ///< "KEY"; empty for a boolean switch
  std::string_view help = {};
  bool repeatable = false;
  std::string_view env = {};  ///< environment fallback, e.g. "PULSE_API_KEY"
  std::string_view default_value = {};
  bool secret = false;  ///< its value is redacted from every message (an API key)
};

/// Flag values from a config file, by flag name (config_file.hpp).
using FileValues = std::map<std::string, std::vector<std::string>, std::less<>>;

class ParsedArgs {
 public:
  /// Last value of a flag from argv, else its environment variable, else its
  /// default; nullopt if none.
  std::optional<std::string> get(std::string_view name) const;
  std::string get_or(std::string_view name, std::string fallback) const;
  /// Every value of a repeatable flag: argv's, else the config file's.
  std::vector<std::string> all(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  bool flag(std::string_view name) const;  ///< a boolean switch was given
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  friend class ArgsReader;
  friend std::optional<ParsedArgs> parse_args(const std::vector<std::string>&, const std::vector<FlagSpec>&, const Env&,
                                              std::string&, const FileValues*);
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::map<std::string, std::vector<std::string>, std::less<>> file_values_;
  std::map<std::string, std::string, std::less<>> fallbacks_;
  std::vector<std::string> positionals_;
};

/// Parses `args` (without the program and command names). "--help"/"-h" must
/// be handled by the caller before. Returns nullopt and sets `why` on an
/// unknown flag or a missing value. Precedence: argv, then the flag's
/// environment variable, then `file` (a config file's values), then the default.
std::optional<ParsedArgs> parse_args(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                                     const Env& env, std::string& why, const FileValues* file = nullptr);

/// The "Flags:" section of a help text.
std::string flags_help(const std::vector<FlagSpec>& specs);

/// Whether argv asks for help anywhere ("--help", "-h", "help" as first word
/// is for the caller).
bool wants_help(const std::vector<std::string>& args);

}  // namespace pulse
