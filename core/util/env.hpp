// A snapshot of the process environment, passed explicitly so that code
// reading configuration can be tested without touching the real one.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pulse {

class Env {
 public:
  Env() = default;
  explicit Env(std::map<std::string, std::string, std::less<>> vars) : vars_(std::move(vars)) {}
  Env(std::initializer_list<std::pair<const std::string, std::string>> vars) : vars_(vars) {}

  /// The calling process's environment (copied once).
  static Env from_process();

  /// The value of `name`, if set (an empty value counts as set).
  std::optional<std::string> get(std::string_view name) const;
  /// The value of `name` if set and non-empty.
  std::optional<std::string> non_empty(std::string_view name) const;
  bool has(std::string_view name) const { return vars_.find(name) != vars_.end(); }
  void set(std::string name, std::string value) { vars_[std::move(name)] = std::move(value); }

 private:
  std::map<std::string, std::string, std::less<>> vars_;
};

}  // namespace pulse
