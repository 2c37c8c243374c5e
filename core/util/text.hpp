// Small text helpers for configuration values and files.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

/// Without leading and trailing spaces, tabs, CR and LF.
std::string trim(std::string_view s);

/// ASCII letters in lower case, everything else as it is (host names,
/// header values, auth schemes: never the locale's idea of a letter).
std::string lower(std::string_view s);

/// "a, b,,c" -> {"a", "b", "c"}: items trimmed, empty ones dropped.
std::vector<std::string> split_list(std::string_view s, char separator = ',');

/// One CSV record as Go's encoding/csv reads it (and so pflag's string
/// slices, the Go CLI's --teams): fields split at commas, a field that
/// starts with a double quote is quoted ("" inside it is one quote), nothing
/// trimmed, the record ends at the first newline outside quotes; "" is no
/// field. nullopt, with `why`, for a quote inside an unquoted field or an
/// unterminated quoted one.
std::optional<std::vector<std::string>> split_csv_record(std::string_view s, std::string& why);

/// The lines of a file of keys or tokens: trimmed, blank lines and "#"
/// comments dropped. nullopt if the file cannot be read.
std::optional<std::vector<std::string>> read_config_lines(const std::string& path);

/// The first line of a file (an API key file), trimmed; nullopt if unreadable.
std::optional<std::string> read_first_line(const std::string& path);

/// Valid UTF-8 (no overlong forms, surrogates or code points past
/// U+10FFFF); control characters allowed.
bool is_valid_utf8(std::string_view s);

/// Valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
/// without control characters (C0, DEL, C1): safe to store, compare and
/// print in a terminal.
bool is_clean_text(std::string_view s);

/// `s` for a terminal: anything is_clean_text refuses becomes \xNN.
std::string printable(std::string_view s);

/// A boolean as people and CI systems write it: 1/0, t/f, true/false,
/// yes/no, on/off, in any case (Azure Pipelines renders `True`; Go's
/// ParseBool takes t/f); nullopt otherwise.
std::optional<bool> parse_bool(std::string_view s);

/// Decimal digits only, at most `max`.
bool parse_uint(std::string_view s, unsigned long max, unsigned long& out);

/// The candidates close to `typed` (case, '-' and '_' aside; an edit or two
/// away, or a prefix), best first: for "did you mean".
std::vector<std::string> near_misses(std::string_view typed, const std::vector<std::string>& candidates);

}  // namespace pulse
