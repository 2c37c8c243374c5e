#include "core/cmdline/config_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>

namespace pulse {

namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;

std::string where(const std::string& path, const toml::source_region& r) {
  return path + ":" + std::to_string(r.begin.line);
}

// Edit distance, for "did you mean".
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string suggestion(std::string_view key, const std::vector<FlagSpec>& specs) {
  std::string best;
  std::size_t best_d = 3;
  for (const auto& s : specs)
    if (const auto d = distance(key, s.name); d < best_d) best_d = d, best = std::string(s.name);
  return best.empty() ? "" : " (did you mean " + best + "?)";
}

std::optional<std::string> scalar(const toml::node& n) {
  if (const auto* s = n.as_string()) return s->get();
  if (const auto* i = n.as_integer()) return std::to_string(i->get());
  if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
  return std::nullopt;
}

bool read_table(const toml::table& table, const std::string& prefix, const std::string& path,
                const std::vector<FlagSpec>& specs, ConfigValues& out, std::string& why) {
  for (const auto& [k, node] : table) {
    std::string name = prefix + std::string(k.str());
    for (auto& c : name)
      if (c == '_') c = '-';
    if (const auto* sub = node.as_table()) {
      if (!read_table(*sub, name + "-", path, specs, out, why)) return false;
      continue;
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == name) spec = &s;
    if (!spec || name == "config") {
      why = where(path, k.source()) + ": unknown key \"" + name + "\"" + suggestion(name, specs);
      return false;
    }
    auto& values = out[name];
    if (const auto* arr = node.as_array()) {
      if (!spec->repeatable) {
        why = where(path, node.source()) + ": " + name + ": takes one value, not a list";
        return false;
      }
      for (const auto& item : *arr) {
        const auto v = scalar(item);
        if (!v) {
          why = where(path, item.source()) + ": " + name + ": list items must be strings";
          return false;
        }
        values.push_back(*v);
      }
      continue;
    }
    const auto v = scalar(node);
    if (!v) {
      why = where(path, node.source()) + ": " + name + ": must be a string, a number or a boolean";
      return false;
    }
    if (spec->value_name.empty() && node.as_boolean() == nullptr) {
      why = where(path, node.source()) + ": " + name + ": must be true or false";
      return false;
    }
    values.push_back(*v);
  }
  return true;
}

}  // namespace

std::optional<ConfigValues> load_config_file(const std::string& path, const std::vector<FlagSpec>& specs,
                                             std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = path + ": cannot read";
    return std::nullopt;
  }
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) {
    why = path + ": larger than 1 MiB";
    return std::nullopt;
  }
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    why = where(path, e.source()) + ": " + std::string(e.description());
    return std::nullopt;
  }
  ConfigValues out;
  if (!read_table(table, "", path, specs, out, why)) return std::nullopt;
  return out;
}

}  // namespace pulse

namespace pulse {

std::optional<ParsedArgs> parse_args_with_config(const std::vector<std::string>& args,
                                                 const std::vector<FlagSpec>& specs, const Env& env, std::string& why) {
  auto first = parse_args(args, specs, env, why);
  if (!first) return first;
  const auto path = first->get("config");
  if (!path) return first;
  const auto file = load_config_file(*path, specs, why);
  if (!file) return std::nullopt;
  return parse_args(args, specs, env, why, &*file);
}

}  // namespace pulse
