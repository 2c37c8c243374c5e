// Command lines: NUL-separated words through the flag parser, with
// environment fallbacks and a repeatable flag, as every command has them;
// the repeatable flag's values through the CSV reader, as --teams has them.
#include "core/cmdline/args.hpp"
#include "core/util/text.hpp"

#include <cstdint>
#include <string>
#include <vector>

using namespace pulse;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<FlagSpec> specs = {
      {"api-key", "KEY", "k", false, "PULSE_API_KEY"},
      {"system", "NAME", "s"},
      {"teams", "LIST", "t", true},
      {"dry-run", "", "d", false, "PULSE_DRY_RUN"},
      {"timeout", "SECONDS", "t", false, {}, "30"},
  };
  std::vector<std::string> args;
  std::string word;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(std::move(word));
      word.clear();
    } else {
      word += static_cast<char>(data[i]);
    }
  }
  args.push_back(word);
  std::string why;
  const auto parsed = parse_args(args, specs, Env{{"PULSE_DRY_RUN", "TRUE"}}, why);
  if (!parsed) {
    if (why.empty()) __builtin_trap();
    return 0;
  }
  (void)parsed->flag("dry-run");
  for (const auto& value : parsed->all("teams")) {
    std::string csv_why;
    const auto fields = split_csv_record(value, csv_why);
    if (!fields && csv_why.empty()) __builtin_trap();  // a refusal always says why
    if (fields)
      for (const auto& f : *fields)
        if (f.size() > value.size()) __builtin_trap();  // a field is never longer than its record
  }
  (void)parsed->get_or("timeout", "");
  return 0;
}
