#include "core/cmdline/command.hpp"

#include "core/util/build_info.hpp"
#include "core/util/text.hpp"
#include "core/util/url.hpp"

#include <algorithm>
#include <fstream>
#include <ostream>
#include <sstream>

namespace pulse {

namespace {

std::string usage_line(const ProgramSpec& p, const CommandSpec& c) {
  std::string line = std::string(p.name);
  if (!c.name.empty()) line += " " + std::string(c.name);
  if (!c.flags.empty()) line += " [flags]";
  if (!c.operands.empty()) line += " " + std::string(c.operands);
  return line;
}

// Each command's name, as the words a shell completes one at a time.
std::vector<std::string> command_words(const ProgramSpec& p) {
  std::vector<std::string> out{"help", "version", "completion", "man"};
  for (const auto& c : p.commands)
    if (!c.name.empty()) out.emplace_back(c.name);
  return out;
}

// The commands of a group ("push": push change, push deployment, ...).
std::vector<const CommandSpec*> group_of(const ProgramSpec& p, const std::string& group) {
  std::vector<const CommandSpec*> out;
  for (const auto& c : p.commands)
    if (c.name.starts_with(group + " ")) out.push_back(&c);
  return out;
}

// A group's commands by their last words: "change, deployment or incident".
std::string group_words(const std::vector<const CommandSpec*>& group, const std::string& typed) {
  std::string out;
  for (std::size_t i = 0; i < group.size(); ++i)
    out += (i ? (i + 1 == group.size() ? " or " : ", ") : "") + std::string(group[i]->name.substr(typed.size() + 1));
  return out;
}

// "did you mean" for a word or words that name no command (or group).
std::string suggestion(const ProgramSpec& p, std::string_view typed) {
  std::vector<std::string> names = command_words(p);
  for (const auto& c : p.commands)
    if (const auto space = c.name.find(' '); space != std::string_view::npos)
      names.emplace_back(c.name.substr(0, space));
  const auto near = near_misses(typed, names);
  if (near.empty()) return "";
  std::string out = " (did you mean";
  for (std::size_t i = 0; i < near.size() && i < 3; ++i) out += (i ? " or \"" : " \"") + near[i] + "\"";
  return out + "?)";
}

struct Found {
  const CommandSpec* command = nullptr;
  std::size_t words = 0;  // how many of args name it
};

// The command the longest run of leading words (from `from`) names.
Found find_command(const ProgramSpec& p, const std::vector<std::string>& args, std::size_t from) {
  Found best;
  for (const auto& c : p.commands) {
    if (c.name.empty()) continue;
    std::string joined;
    for (std::size_t i = from, n = 0; i < args.size() && n < 4 && !args[i].starts_with("-"); ++i, ++n) {
      joined += (n ? " " : "") + args[i];
      if (joined == c.name && n + 1 > best.words) best = {&c, n + 1};
    }
  }
  return best;
}

const CommandSpec* default_command(const ProgramSpec& p) {
  for (const auto& c : p.commands)
    if (c.name.empty()) return &c;
  return nullptr;
}

// The leading words from `from` that are not flags, joined ("push chnge").
std::string leading_words(const std::vector<std::string>& args, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < args.size() && i < from + 3 && !args[i].starts_with("-"); ++i)
    out += (out.empty() ? "" : " ") + args[i];
  return out;
}

// A group's help: the usage lines of its commands ("push": push change, ...).
std::string group_help(const ProgramSpec& p, const std::vector<const CommandSpec*>& group, const std::string& topic) {
  std::string out = "Commands of " + std::string(p.name) + " " + topic + ":\n";
  for (const auto* c : group) out += "  " + usage_line(p, *c) + "\n";
  return out + "\nRun '" + std::string(p.name) + " help " + topic + " COMMAND' for one.\n";
}

int help_command(const ProgramSpec& p, const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() < 2) {
    out << program_help(p);
    return kExitOk;
  }
  if (const auto found = find_command(p, args, 1); found.command && found.words + 1 == args.size()) {
    out << command_help(p, *found.command);
    return kExitOk;
  }
  const std::string topic = leading_words(args, 1);
  // A group's first word ("help push"): its commands.
  if (const auto group = group_of(p, topic); !group.empty()) {
    out << group_help(p, group, topic);
    return kExitOk;
  }
  err << p.name << " help: no command \"" << (topic.empty() ? args[1] : topic) << "\""
      << suggestion(p, topic.empty() ? args[1] : topic) << "\nRun '" << p.name << " help' for the commands.\n";
  return kExitUsage;
}

std::string quoted_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::vector<std::string> flag_words(const CommandSpec& c) {
  std::vector<std::string> out{"--help"};
  for (const auto& f : c.flags) out.push_back("--" + std::string(f.name));
  return out;
}

// bash: complete the command's words, then its flags.
std::string bash_script(const ProgramSpec& p) {
  std::string fn = "_" + std::string(p.name);
  std::replace(fn.begin(), fn.end(), '-', '_');
  std::ostringstream s;
  s << "# bash completion for " << p.name << " (" << p.name << " completion bash)\n"
    << fn << "() {\n"
    << "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" line=\"${COMP_WORDS[*]:1:COMP_CWORD-1}\"\n"
    << "  local words=\"\"\n"
    << "  case \" $line \" in\n";
  // Longest names first, so "push git deployment" wins over "push".
  std::vector<const CommandSpec*> by_length;
  for (const auto& c : p.commands) by_length.push_back(&c);
  std::stable_sort(by_length.begin(), by_length.end(),
                   [](const auto* a, const auto* b) { return a->name.size() > b->name.size(); });
  for (const auto* c : by_length) {
    if (c->name.empty()) continue;
    s << "    \" " << c->name << " \"*) words=\"" << quoted_words(flag_words(*c)) << "\" ;;\n";
  }
  if (const auto* d = default_command(p))
    s << "    *) words=\"" << quoted_words(flag_words(*d)) << " help version completion\" ;;\n";
  else s << "    \"  \") ;;\n";
  s << "  esac\n"
    << "  if [[ -z \"$words\" ]]; then\n"
    << "    # The next word of a command name after what was typed.\n"
    << "    local name next\n"
    << "    while IFS= read -r name; do\n"
    << "      if [[ -z \"$line\" ]]; then next=\"${name%% *}\"\n"
    << "      elif [[ \"$name\" == \"$line \"* ]]; then next=\"${name#\"$line \"}\"; next=\"${next%% *}\"\n"
    << "      else continue; fi\n"
    << "      words=\"$words $next\"\n"
    << "    done <<'EOF'\n";
  for (const auto& w : command_words(p)) s << w << "\n";
  s << "EOF\n"
    << "  fi\n"
    << "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
    << "}\n"
    << "complete -o default -F " << fn << " " << p.name << "\n";
  return s.str();
}

std::string zsh_script(const ProgramSpec& p) {
  // zsh runs bash completions through bashcompinit.
  return "#compdef " + std::string(p.name) + "\n# zsh completion for " + std::string(p.name) + " (" +
         std::string(p.name) + " completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n" + bash_script(p);
}

std::string fish_script(const ProgramSpec& p) {
  std::ostringstream s;
  s << "# fish completion for " << p.name << " (" << p.name << " completion fish)\n"
    << "complete -c " << p.name << " -f\n";
  for (const auto& w : command_words(p)) {
    const auto space = w.find(' ');
    if (space == std::string::npos) {
      s << "complete -c " << p.name << " -n '__fish_use_subcommand' -a '" << w << "'\n";
    } else {
      const auto first = w.substr(0, space), rest = w.substr(space + 1), second = rest.substr(0, rest.find(' '));
      s << "complete -c " << p.name << " -n '__fish_seen_subcommand_from " << first << "' -a '" << second << "'\n";
    }
  }
  for (const auto& c : p.commands)
    for (const auto& f : c.flags) {
      s << "complete -c " << p.name;
      if (!c.name.empty()) s << " -n '__fish_seen_subcommand_from " << c.name.substr(c.name.rfind(' ') + 1) << "'";
      s << " -l " << f.name << (f.value_name.empty() ? "" : " -r") << " -d '";
      for (const char ch : f.help.substr(0, 60)) s << (ch == '\'' ? std::string("\\'") : std::string(1, ch));
      s << "'\n";
    }
  return s.str();
}

std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else if (line_start && (c == '.' || c == '\'')) out += std::string("\\&") + c;
    else out += c;
    line_start = c == '\n';
  }
  return out;
}

}  // namespace

std::string program_help(const ProgramSpec& p) {
  std::ostringstream s;
  if (p.commands.size() == 1 && p.commands[0].name.empty()) {  // a program that is one command
    s << p.name << ": " << p.summary << "\n\n"
      << command_help(p, p.commands[0]) << "\nExit codes: " << kExitCodesText << ".\nAlso: " << p.name
      << " version | help | completion bash|zsh|fish | man\n";
    return s.str();
  }
  s << p.name << ": " << p.summary << "\n\nUsage:\n";
  std::size_t width = 0;
  for (const auto& c : p.commands) width = std::max(width, usage_line(p, c).size());
  auto list = [&](std::string_view section) {
    for (const auto& c : p.commands)
      if (c.section == section) {
        const std::string line = usage_line(p, c);
        s << "  " << line << std::string(width - line.size() + 2, ' ') << c.summary << "\n";
      }
  };
  list("");
  s << "  " << p.name << " version | help [COMMAND] | completion bash|zsh|fish | man [COMMAND]\n";
  std::vector<std::string_view> sections;
  for (const auto& c : p.commands)
    if (!c.section.empty() && std::find(sections.begin(), sections.end(), c.section) == sections.end())
      sections.push_back(c.section);
  for (const auto section : sections) {
    s << "\n" << section << ":\n";
    list(section);
  }
  if (!p.footer.empty()) s << "\n" << p.footer;
  s << "\nExit codes: " << kExitCodesText << ".\n";
  s << "Run '" << p.name << " help COMMAND' (or '" << p.name << " COMMAND --help') for a command's flags.\n";
  return s.str();
}

std::string command_help(const ProgramSpec& p, const CommandSpec& c) {
  std::ostringstream s;
  s << "Usage: " << usage_line(p, c) << "\n\n" << (c.description.empty() ? c.summary : c.description) << "\n";
  if (!c.flags.empty()) s << "\n" << flags_help(c.flags);
  if (!c.notes.empty()) s << "\n" << c.notes;
  return s.str();
}

std::string completion_script(const ProgramSpec& p, std::string_view shell) {
  if (shell == "bash") return bash_script(p);
  if (shell == "zsh") return zsh_script(p);
  if (shell == "fish") return fish_script(p);
  return "";
}

namespace {

std::string upper(std::string_view name) {
  std::string out(name);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string title(std::string_view page, std::string_view program) {
  return ".TH " + upper(page) + " 1 \"\" \"" + std::string(program) + " " PULSE_VERSION "\" \"Pulse event suite\"\n";
}

// A command's flags as a man(7) tagged list.
std::string roff_flags(const std::vector<FlagSpec>& flags) {
  std::ostringstream s;
  for (const auto& f : flags) {
    s << ".TP\n";
    if (f.value_name.empty()) s << ".B \\-\\-" << roff(f.name);
    else s << ".BI \"\\-\\-" << roff(f.name) << " \" " << roff(f.value_name);
    s << "\n" << roff(f.help);
    if (!f.default_value.empty()) s << " (default " << roff(f.default_value) << ")";
    if (!f.env.empty()) s << "; also $" << roff(f.env);
    s << "\n";
  }
  return s.str();
}

// The commands with a page of their own: every named one.
std::vector<const CommandSpec*> paged_commands(const ProgramSpec& p) {
  std::vector<const CommandSpec*> out;
  for (const auto& c : p.commands)
    if (!c.name.empty()) out.push_back(&c);
  return out;
}

}  // namespace

std::string command_page_name(const ProgramSpec& p, const CommandSpec& c) {
  std::string name = std::string(p.name) + "-" + std::string(c.name);
  std::replace(name.begin(), name.end(), ' ', '-');
  return name;
}

std::string man_page(const ProgramSpec& p) {
  std::ostringstream s;
  s << title(p.name, p.name) << ".SH NAME\n" << roff(p.name) << " \\- " << roff(p.summary) << "\n.SH SYNOPSIS\n";
  for (const auto& c : p.commands) s << ".B " << roff(usage_line(p, c)) << "\n.br\n";
  s << ".SH COMMANDS\n";
  for (const auto& c : p.commands) {
    s << ".SS " << roff(c.name.empty() ? std::string(p.name) : std::string(c.name)) << "\n"
      << roff(c.description.empty() ? c.summary : c.description) << "\n"
      << roff_flags(c.flags);
    if (!c.notes.empty()) s << ".PP\n" << roff(c.notes) << "\n";
  }
  if (!p.footer.empty()) s << ".SH NOTES\n.nf\n" << roff(p.footer) << "\n.fi\n";
  s << ".SH EXIT STATUS\n" << kExitCodesText << ".\n";
  if (const auto paged = paged_commands(p); !paged.empty()) {
    s << ".SH SEE ALSO\n";
    for (std::size_t i = 0; i < paged.size(); ++i)
      s << ".BR " << roff(command_page_name(p, *paged[i])) << " (1)" << (i + 1 < paged.size() ? "," : "") << "\n";
  }
  return s.str();
}

std::string command_man_page(const ProgramSpec& p, const CommandSpec& c) {
  std::ostringstream s;
  const std::string page = command_page_name(p, c);
  s << title(page, p.name) << ".SH NAME\n"
    << roff(page) << " \\- " << roff(c.summary) << "\n.SH SYNOPSIS\n.B " << roff(usage_line(p, c)) << "\n"
    << ".SH DESCRIPTION\n"
    << roff(c.description.empty() ? c.summary : c.description) << "\n";
  if (!c.flags.empty()) s << ".SH OPTIONS\n" << roff_flags(c.flags);
  if (!c.notes.empty()) s << ".SH NOTES\n.nf\n" << roff(c.notes) << "\n.fi\n";
  s << ".SH EXIT STATUS\n" << kExitCodesText << ".\n.SH SEE ALSO\n.BR " << roff(p.name) << " (1)\n";
  return s.str();
}

namespace {

// `man` alone: the program's page; `man COMMAND`: that command's page;
// `man --write DIR`: every page into DIR as NAME.1 (what packages install).
int man_command(const ProgramSpec& p, const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() == 1) {
    out << man_page(p);
    return kExitOk;
  }
  if (args[1] == "--write") {
    if (args.size() != 3) {
      err << p.name << " man --write: say which directory\n";
      return kExitUsage;
    }
    std::vector<std::pair<std::string, std::string>> pages = {{std::string(p.name), man_page(p)}};
    for (const auto* c : paged_commands(p)) pages.emplace_back(command_page_name(p, *c), command_man_page(p, *c));
    for (const auto& [name, text] : pages) {
      const std::string file = args[2] + "/" + name + ".1";
      std::ofstream f(file, std::ios::binary | std::ios::trunc);
      if (!(f << text) || !f.flush()) {
        err << p.name << " man --write: cannot write " << file << "\n";
        return kExitFailure;
      }
      out << file << "\n";
    }
    return kExitOk;
  }
  const Found found = find_command(p, args, 1);
  if (!found.command || found.command->name.empty() || 1 + found.words != args.size()) {
    const std::string typed = leading_words(args, 1);
    if (const auto group = group_of(p, typed); !group.empty())
      err << p.name << " man " << typed << ": say which: " << group_words(group, typed) << "\n";
    else
      err << p.name << " man: no command \"" << typed.substr(0, 80) << "\"" << suggestion(p, typed) << "\nRun '"
          << p.name << " help' for the commands.\n";
    return kExitUsage;
  }
  out << command_man_page(p, *found.command);
  return kExitOk;
}

}  // namespace

bool takes_operands(const CommandSpec& c) { return !c.operands.empty() && !c.operands.starts_with("<"); }

namespace {

// The message with every secret flag's value (as given) taken out.
std::string redacted(std::string message, const CommandSpec& c, const ParsedArgs* args) {
  if (!args) return message;
  for (const auto& f : c.flags)
    if (f.secret) {
      for (const auto& value : args->all(f.name)) message = redact(std::move(message), value);
      if (const auto value = args->get(f.name)) message = redact(std::move(message), *value);
    }
  return message;
}

// A found command: its words parsed and checked, then run; its failure said.
int run_command(const ProgramSpec& p, const CommandSpec& c, const std::vector<std::string>& words, const Env& env,
                std::ostream& out, std::ostream& err) {
  const std::string prefix = std::string(p.name) + (c.name.empty() ? "" : " " + std::string(c.name));
  std::string why;
  std::optional<ParsedArgs> args = c.parse ? c.parse(words, c.flags, env, why) : parse_args(words, c.flags, env, why);
  Outcome outcome;
  if (!args) outcome = usage_error(why);
  else if (!takes_operands(c) && !args->positionals().empty())
    outcome = usage_error("unexpected argument \"" + printable(args->positionals()[0].substr(0, 80)) + "\"");
  else {
    try {
      outcome = c.run(Invocation{*args, words, env, out, err, prefix});
    } catch (const std::exception& e) {
      outcome = {kExitFailure, std::string("internal error: ") + e.what()};
    }
  }
  if (outcome.code == kExitOk || outcome.message.empty()) return outcome.code;
  // Each line escaped for the terminal (C0, DEL, C1): a message may quote
  // what a server or a file said.
  const std::string message = redacted(std::move(outcome.message), c, args ? &*args : nullptr);
  std::string shown;
  for (std::size_t start = 0; start <= message.size();) {
    const auto nl = message.find('\n', start);
    shown += printable(std::string_view(message).substr(start, nl == std::string::npos ? nl : nl - start));
    if (nl == std::string::npos) break;
    shown += '\n';
    start = nl + 1;
  }
  err << prefix << ": " << shown << "\n";
  if (outcome.code == kExitUsage) err << "Run '" << prefix << " --help' for usage.\n";
  return outcome.code;
}

// A flag some command under `group` declares ("" for every command), by
// the word that gives it ("--api-key", "--api-key=K", "-api-key").
const FlagSpec* group_flag(const ProgramSpec& p, const std::string& group, std::string_view word) {
  word.remove_prefix(word.starts_with("--") ? 2 : 1);
  word = word.substr(0, word.find('='));
  for (const auto& c : p.commands)
    if (group.empty() || c.name.starts_with(group + " "))
      for (const auto& f : c.flags)
        if (f.name == word) return &f;
  return nullptr;
}

// Flags given before a command's last name word (`push --api-key K change
// ...`, `--config F push change ...`: the Go CLI's persistent flags, which
// cobra takes anywhere on the way to the command) are moved after it, when
// the words then name a command and every such flag is one that commands
// of the group declare. Otherwise the words are left as they are.
std::vector<std::string> hoist_flags(const ProgramSpec& p, const std::vector<std::string>& args) {
  std::vector<std::string> name, flags;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& w = args[i];
    if (w == "--" || w == "-") return args;
    if (w.starts_with("-")) {
      std::string group;
      for (const auto& n : name) group += (group.empty() ? "" : " ") + n;
      const FlagSpec* f = group_flag(p, group, w);
      if (!f) return args;
      flags.push_back(w);
      if (!f->value_name.empty() && w.find('=') == std::string::npos) {
        if (++i == args.size()) return args;
        flags.push_back(args[i]);
      }
      continue;
    }
    name.push_back(w);
    // The command found, unless longer names go on from it (a group on the way).
    if (const Found found = find_command(p, name, 0);
        found.command && found.words == name.size() && group_of(p, std::string(found.command->name)).empty())
      break;
  }
  if (flags.empty() || i == args.size()) return args;
  std::vector<std::string> out(name.begin(), name.end());
  out.insert(out.end(), flags.begin(), flags.end());
  out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  return out;
}

}  // namespace

int run_program(const ProgramSpec& p, const std::vector<std::string>& given, const Env& env, std::ostream& out,
                std::ostream& err) {
  const std::vector<std::string> args = hoist_flags(p, given);
  const CommandSpec* fallback = default_command(p);
  if (args.empty() && !fallback) {  // the program alone: its help, as cobra (the Go CLI) answers
    out << program_help(p);
    return kExitOk;
  }
  const std::string first = args.empty() ? "" : args[0];
  if (first == "help" || ((first == "--help" || first == "-h") && !fallback)) return help_command(p, args, out, err);
  if (first == "version" || first == "--version" || first == "-v") {
    out << p.name << " " << version_text() << "\n";
    return kExitOk;
  }
  if (first == "completion") {
    const std::string shell = args.size() > 1 ? args[1] : "";
    const std::string script = completion_script(p, shell);
    if (script.empty() || args.size() > 2) {
      err << p.name << " completion: say which shell: bash, zsh or fish\n";
      return kExitUsage;
    }
    out << script;
    return kExitOk;
  }
  if (first == "man") return man_command(p, args, out, err);
  const Found found = find_command(p, args, 0);
  const CommandSpec* command = found.command ? found.command : fallback;
  if (!command || (!found.command && !first.empty() && !first.starts_with("-"))) {
    const std::string typed = leading_words(args, 0);
    // A group alone, or asked for help ("push", "push --help"): its
    // commands, as `help push` shows them (and as the Go CLI does, exit 0).
    const auto group = group_of(p, typed);
    const std::size_t typed_words = static_cast<std::size_t>(std::count(typed.begin(), typed.end(), ' ')) + 1;
    if (!group.empty() && (args.size() == typed_words ||
                           (args.size() == typed_words + 1 && (args.back() == "--help" || args.back() == "-h")))) {
      out << group_help(p, group, typed);
      return kExitOk;
    }
    if (!group.empty()) {
      err << p.name << " " << typed << ": say which: " << group_words(group, typed) << "\nRun '" << p.name << " help "
          << typed << "' for them.\n";
    } else {
      err << p.name << ": unknown command \"" << typed.substr(0, 80) << "\"" << suggestion(p, typed) << "\nRun '"
          << p.name << " help' for the commands.\n";
    }
    return kExitUsage;
  }
  const std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(found.words), args.end());
  if (wants_help(rest)) {
    out << command_help(p, *command);
    return kExitOk;
  }
  return run_command(p, *command, rest, env, out, err);
}

}  // namespace pulse
