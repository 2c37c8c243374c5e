#include "args.hpp"

#include "text.hpp"

#include <algorithm>

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

std::optional<ParsedArgs> parse_args(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                                     const Env& env, std::string& why, const FileValues* file) {
  ParsedArgs out;
  auto find = [&specs](std::string_view n) -> const FlagSpec* {
    for (const auto& s : specs)
      if (s.name == n) return &s;
    return nullptr;
  };
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
    // Go's pflag accepts "--name"; we also take "-name" for long names, as Go's flag package does.
    std::string_view body(a);
    body.remove_prefix(a.starts_with("--") ? 2 : 1);
    std::string_view name = body;
    std::optional<std::string> value;
    if (const auto eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      value = std::string(body.substr(eq + 1));
    }
    const FlagSpec* spec = find(name);
    if (!spec) {
      std::vector<std::string> names;
      for (const auto& s : specs) names.emplace_back(s.name);
      names.emplace_back("help");
      const auto near = near_misses(name, names);
      why = "unknown flag --" + std::string(name).substr(0, 80) +
            (near.empty() ? "" : " (did you mean --" + near.front() + "?)");
      return std::nullopt;
    }
    if (spec->value_name.empty()) {
      const auto b = value ? parse_bool(*value) : std::optional<bool>(true);
      if (!b) {
        why = "--" + std::string(name) + " takes no value, or one of " + kBooleans;
        return std::nullopt;
      }
      out.values_[std::string(name)].push_back(*b ? "true" : "false");
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        why = "--" + std::string(name) + " needs a value (" + std::string(spec->value_name) + ")";
        return std::nullopt;
      }
      value = args[++i];
    }
    auto& slot = out.values_[std::string(name)];
    if (!spec->repeatable) slot.clear();
    slot.push_back(*value);
  }
  for (const auto& s : specs) {
    // Given on the command line: its variable does not matter (and is not judged).
    if (auto it = out.values_.find(s.name); it != out.values_.end() && !it->second.empty() && !s.repeatable) continue;
    if (!s.env.empty()) {
      if (auto v = env.non_empty(s.env)) {
        if (s.value_name.empty()) {
          const auto b = parse_bool(*v);
          if (!b) {  // a typo must not turn --dry-run off and send for real
            why = "$" + std::string(s.env) + "=\"" + v->substr(0, 32) + "\": not a boolean (" + kBooleans + ")";
            return std::nullopt;
          }
          out.fallbacks_[std::string(s.name)] = *b ? "true" : "false";
        } else {
          out.fallbacks_[std::string(s.name)] = *v;
        }
        continue;
      }
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
    if (!s.default_value.empty()) out.fallbacks_[std::string(s.name)] = std::string(s.default_value);
  }
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
