#include "core/cmdline/args.hpp"

#include "core/util/text.hpp"

#include <algorithm>
#include <filesystem>

namespace pulse {

std::optional<std::string> ParsedArgs::get(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end() && !it->second.empty()) return it->second.back();
  if (auto it = fallbacks_.find(name); it != fallbacks_.end()) return it->second;
  return std::nullopt;
}

std::string ParsedArgs::get_or(std::string_view name, std::string fallback) const {
  auto v = get(name);
  return v ? *v : std::move(fallback);
}

std::vector<std::string> ParsedArgs::all(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end() && !it->second.empty()) return it->second;
  if (auto it = file_values_.find(name); it != file_values_.end()) return it->second;
  return {};
}

bool ParsedArgs::flag(std::string_view name) const {
  auto v = get(name);
  return v && parse_bool(*v).value_or(false);
}

namespace {
constexpr const char* kBooleans = "1/0, true/false, yes/no or on/off";
}  // namespace

// The two halves of parse_args: the command line, then what fills the
// flags it did not give (variable, config file, default).
class ArgsReader {
 public:
  ArgsReader(const std::vector<FlagSpec>& specs, std::string& why) : specs_(specs), why_(why) {}

  // Flags and positionals, in the Go CLI's syntax: --name value,
  // --name=value, -name for long names, "--" ends the flags.
  bool read_command_line(const std::vector<std::string>& args, ParsedArgs& out) {
    bool only_positionals = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (only_positionals || a.size() < 2 || a[0] != '-' || a == "-") {
        out.positionals_.push_back(a);
        continue;
      }
      if (a == "--") {
        only_positionals = true;
        continue;
      }
      std::string_view body(a);
      body.remove_prefix(a.starts_with("--") ? 2 : 1);
      std::string_view name = body;
      std::optional<std::string> value;
      if (const auto eq = body.find('='); eq != std::string_view::npos) {
        name = body.substr(0, eq);
        value = std::string(body.substr(eq + 1));
      }
      const FlagSpec* spec = find(name);
      if (!spec) return fail_unknown(name);
      if (spec->value_name.empty()) {
        if (!read_switch(name, value, out)) return false;
        continue;
      }
      if (!value) {
        if (i + 1 >= args.size())
          return fail("--" + std::string(name) + " needs a value (" + std::string(spec->value_name) + ")");
        value = args[++i];
      }
      auto& slot = out.values_[std::string(name)];
      if (!spec->repeatable) slot.clear();
      slot.push_back(*value);
    }
    return true;
  }

  // A flag given on the command line wins (its variable is not judged);
  // then its environment variable, the config file, a systemd credential,
  // its default.
  bool add_fallbacks(const Env& env, const FileValues* file, ParsedArgs& out) {
    for (const auto& s : specs_) {
      if (auto it = out.values_.find(s.name); it != out.values_.end() && !it->second.empty() && !s.repeatable) continue;
      if (auto v = s.env.empty() ? std::nullopt : env.non_empty(s.env)) {
        if (!s.value_name.empty()) {
          out.fallbacks_[std::string(s.name)] = *v;
          continue;
        }
        const auto b = parse_bool(*v);
        if (!b)  // a typo must not turn --dry-run off and send for real
          return fail("$" + std::string(s.env) + "=\"" + v->substr(0, 32) + "\": not a boolean (" + kBooleans + ")");
        out.fallbacks_[std::string(s.name)] = *b ? "true" : "false";
        continue;
      }
      if (file) {
        if (auto it = file->find(s.name); it != file->end() && !it->second.empty()) {
          out.fallbacks_[std::string(s.name)] = s.value_name.empty()
                                                    ? (parse_bool(it->second.back()).value_or(false) ? "true" : "false")
                                                    : it->second.back();
          if (s.repeatable) out.file_values_[std::string(s.name)] = it->second;
          continue;
        }
      }
      if (auto credential = systemd_credential(s, env)) {
        out.fallbacks_[std::string(s.name)] = std::move(*credential);
        continue;
      }
      if (!s.default_value.empty()) out.fallbacks_[std::string(s.name)] = std::string(s.default_value);
    }
    return true;
  }

 private:
  // A file flag (--api-key-file) under systemd: the credential of the same
  // name (LoadCredential=api-key-file:...), which systemd copies where the
  // service's user can read it even when the original is root's alone.
  static std::optional<std::string> systemd_credential(const FlagSpec& s, const Env& env) {
    if (s.value_name != "FILE" || !s.name.ends_with("-file")) return std::nullopt;
    const auto dir = env.non_empty("CREDENTIALS_DIRECTORY");
    if (!dir) return std::nullopt;
    std::string path = *dir + "/" + std::string(s.name);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
    return path;
  }

  const FlagSpec* find(std::string_view name) const {
    for (const auto& s : specs_)
      if (s.name == name) return &s;
    return nullptr;
  }

  bool fail(std::string message) {
    why_ = std::move(message);
    return false;
  }

  bool fail_unknown(std::string_view name) {
    std::vector<std::string> names;
    for (const auto& s : specs_) names.emplace_back(s.name);
    names.emplace_back("help");
    const auto near = near_misses(name, names);
    return fail("unknown flag --" + std::string(name).substr(0, 80) +
                (near.empty() ? "" : " (did you mean --" + near.front() + "?)"));
  }

  // A flag without a value: given alone it is true; --name=VALUE takes a boolean.
  bool read_switch(std::string_view name, const std::optional<std::string>& value, ParsedArgs& out) {
    const auto b = value ? parse_bool(*value) : std::optional<bool>(true);
    if (!b) return fail("--" + std::string(name) + " takes no value, or one of " + kBooleans);
    out.values_[std::string(name)].push_back(*b ? "true" : "false");
    return true;
  }

  const std::vector<FlagSpec>& specs_;
  std::string& why_;
};

std::optional<ParsedArgs> parse_args(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                                     const Env& env, std::string& why, const FileValues* file) {
  ParsedArgs out;
  ArgsReader reader(specs, why);
  if (!reader.read_command_line(args, out) || !reader.add_fallbacks(env, file, out)) return std::nullopt;
  return out;
}

std::string flags_help(const std::vector<FlagSpec>& specs) {
  std::string out = "Flags:\n";
  std::vector<std::string> left;
  std::size_t width = 0;
  for (const auto& s : specs) {
    std::string l = "  --" + std::string(s.name);
    if (!s.value_name.empty()) l += " " + std::string(s.value_name);
    width = std::max(width, l.size());
    left.push_back(std::move(l));
  }
  for (std::size_t i = 0; i < specs.size(); ++i) {
    out += left[i] + std::string(width + 2 - left[i].size(), ' ') + std::string(specs[i].help);
    if (!specs[i].default_value.empty()) out += " (default " + std::string(specs[i].default_value) + ")";
    if (!specs[i].env.empty()) out += " [$" + std::string(specs[i].env) + "]";
    out += "\n";
  }
  out += "  -h, --help" + std::string(width > 10 ? width - 8 : 2, ' ') + "show this help\n";
  return out;
}

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--") return false;
    if (a == "--help" || a == "-h" || a == "-help") return true;
  }
  return false;
}

}  // namespace pulse
