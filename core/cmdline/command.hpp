// The command line of every binary, declared once: its commands, what each
// takes and says, and its flags (args.hpp). From the declaration come the
// help texts (`help`, `help CMD`, `CMD --help`), "did you mean" for
// commands, `version`, shell completion (`completion bash|zsh|fish`) and
// the manual page (`man`), so none of them can drift from another; and
// `run_program` parses every command's flags and operands the same way,
// refuses what the command does not take, and prints every failure in one
// form ("PROGRAM COMMAND: what failed: why", secrets redacted).
#pragma once

#include "core/cmdline/args.hpp"
#include "core/cmdline/exit_codes.hpp"

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

/// How a command ended: its exit code (exit_codes.hpp) and, when it failed,
/// what failed and why. `run_program` prints the message as "PROGRAM
/// COMMAND: message" with the values of secret flags redacted, and adds
/// "Run '... --help' for usage." to a usage error. A command that has said
/// everything itself returns a code with no message.
struct Outcome {
  int code = kExitOk;
  std::string message = {};
};

/// A usage error (exit 2): a flag, value or operand is wrong; nothing was done.
inline Outcome usage_error(std::string message) { return {kExitUsage, std::move(message)}; }

/// What `run_program` hands a command once its words are parsed. References
/// to the caller's objects, valid for the call.
struct Invocation {
  const ParsedArgs& args;                 ///< flags (argv, environment, config file, defaults) and operands
  const std::vector<std::string>& words;  ///< the words after the command's name, as typed (a reload reads them again)
  const Env& env;
  std::ostream& out;
  std::ostream& err;
  std::string_view prefix;  ///< "pulse-event-cli push change": how the command's own lines begin
};

/// How a command's words become ParsedArgs: parse_args (the default), or
/// parse_args_with_config for commands that take --config FILE.
using ArgsParser = std::optional<ParsedArgs> (*)(const std::vector<std::string>& words,
                                                 const std::vector<FlagSpec>& specs, const Env& env, std::string& why);

struct CommandSpec {
  /// "serve"; several words for a command of a group ("push change"); empty
  /// for a program that is one command (pulse-deploy).
  std::string_view name = {};
  /// After "[flags]" in the usage line: "COMMIT...", or empty. A command
  /// with no operands, or whose operands are only stdin ("< payload.json"),
  /// is refused any operand.
  std::string_view operands = {};
  std::string_view summary = {};      ///< one line, in the program's list
  std::string_view description = {};  ///< what `CMD --help` says before the flags
  std::vector<FlagSpec> flags = {};
  std::string_view notes = {};  ///< what `CMD --help` says after the flags
  /// Where the program's help lists it: empty for the main list, else a
  /// heading of its own ("Run by git").
  std::string_view section = {};
  /// Reads its words; nullptr: parse_args.
  ArgsParser parse = nullptr;
  /// Runs it, its words parsed and checked (help already handled).
  std::function<Outcome(const Invocation&)> run = {};
};

/// Whether a command takes operands on the command line (not only stdin).
bool takes_operands(const CommandSpec& command);

struct ProgramSpec {
  std::string_view name;     ///< "pulse-collector"
  std::string_view summary;  ///< one line: what it is for
  std::string_view footer;   ///< the program help's last paragraphs (configuration, see also)
  std::vector<CommandSpec> commands;
};

/// Handles `help [CMD]`, `--help`, `version`, `completion SHELL` and `man`,
/// finds the command (the longest run of leading words that names one; a
/// near miss is told what it may have meant), parses its words (an unknown
/// flag, a missing value or an operand it does not take: exit 2), runs it,
/// prints its failure and answers its exit code. An exception out of a
/// command is a bug: "internal error", exit 1.
int run_program(const ProgramSpec& program, const std::vector<std::string>& args, const Env& env, std::ostream& out,
                std::ostream& err);

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
