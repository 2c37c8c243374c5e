// The command line of every binary, declared once: its commands, what each
// takes and says, and its flags (args.hpp). From the declaration come the
// help texts (`help`, `help CMD`, `CMD --help`), "did you mean" for
// commands, `version`, shell completion (`completion bash|zsh|fish`) and
// the manual page (`man`), so none of them can drift from another.
#pragma once

#include "args.hpp"
#include "exit_codes.hpp"

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

struct CommandSpec {
  /// "serve"; several words for a command of a group ("push change"); empty
  /// for a program that is one command (pulse-deploy).
  std::string_view name;
  std::string_view operands;     ///< after "[flags]" in the usage line: "COMMIT...", or empty
  std::string_view summary;      ///< one line, in the program's list
  std::string_view description;  ///< what `CMD --help` says before the flags
  std::vector<FlagSpec> flags;
  std::string_view notes = {};  ///< what `CMD --help` says after the flags
  /// Where the program's help lists it: empty for the main list, else a
  /// heading of its own ("Run by git").
  std::string_view section = {};
  /// Runs it with the words after its name (help already handled).
  std::function<int(const std::vector<std::string>& rest)> run = {};
};

struct ProgramSpec {
  std::string_view name;     ///< "pulse-collector"
  std::string_view summary;  ///< one line: what it is for
  std::string_view footer;   ///< the program help's last paragraphs (configuration, see also)
  std::vector<CommandSpec> commands;
};

/// Handles `help [CMD]`, `--help`, `version`, `completion SHELL` and `man`,
/// finds the command (the longest run of leading words that names one; a
/// near miss is told what it may have meant) and runs it.
int run_program(const ProgramSpec& program, const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

std::string program_help(const ProgramSpec& program);
std::string command_help(const ProgramSpec& program, const CommandSpec& command);
/// A completion script for bash, zsh or fish; empty for another shell.
std::string completion_script(const ProgramSpec& program, std::string_view shell);
/// The manual page (man(7) roff): every command with its flags.
std::string man_page(const ProgramSpec& program);
/// A command's own page, named as git names its commands' pages
/// ("pulse-event-cli-push-change"): what `BINARY man COMMAND` prints.
std::string command_man_page(const ProgramSpec& program, const CommandSpec& command);
std::string command_page_name(const ProgramSpec& program, const CommandSpec& command);

}  // namespace pulse
