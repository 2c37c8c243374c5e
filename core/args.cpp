#include "args.hpp"

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
  return v && *v != "false" && *v != "0";
}

namespace {
bool is_truthy(const std::string& v) { return v == "1" || v == "true" || v == "yes"; }
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
      why = "unknown flag --" + std::string(name);
      return std::nullopt;
    }
    if (spec->value_name.empty()) {
      if (value && !is_truthy(*value) && *value != "false" && *value != "0") {
        why = "--" + std::string(name) + " takes no value (or true/false)";
        return std::nullopt;
      }
      out.values_[std::string(name)].push_back(value ? *value : "true");
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
    if (!s.env.empty()) {
      if (auto v = env.non_empty(s.env)) {
        out.fallbacks_[std::string(s.name)] = s.value_name.empty() ? (is_truthy(*v) ? "true" : "false") : *v;
        continue;
      }
    }
    if (file) {
      if (auto it = file->find(s.name); it != file->end() && !it->second.empty()) {
        out.fallbacks_[std::string(s.name)] =
            s.value_name.empty() ? (is_truthy(it->second.back()) ? "true" : "false") : it->second.back();
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
