// The command line of all five binaries, from one table: help, help CMD,
// CMD --help, unknown and near-miss commands and flags, missing values,
// booleans, version, shell completion and the manual page. Every binary
// declares its commands once (core/cmdline/command.hpp), so every row must hold
// for every binary.
#include "cli_helpers.hpp"

using namespace pulse::test;

namespace {

std::string build_dir() { return fs::path(cli_bin()).parent_path().parent_path().string(); }

struct Binary {
  std::string name, path;
  std::vector<std::string> command;  // a command (empty for pulse-deploy)
  std::string flag;                  // one of its flags, taking a value
  std::string near_command;          // a typo of a command, and what it means
  std::string meant_command;
  std::string near_flag;  // a typo of a flag of `command`, and what it means
  std::string meant_flag;
};

std::vector<Binary> binaries() {
  const std::string b = build_dir();
  return {
      {"pulse-event-cli",
       cli_bin(),
       {"push", "change"},
       "--timestamp",
       "push chnge",
       "push change",
       "--timestmp",
       "--timestamp"},
      {"pulse-collector", collector_bin(), {"events"}, "--limit", "evnts", "events", "--limt", "--limit"},
      {"pulse-incident",
       b + "/plugins/incident/pulse-incident",
       {"list"},
       "--recent",
       "lsit",
       "list",
       "--recnt",
       "--recent"},
      {"pulse-hook",
       b + "/hooks/pulse-hook",
       {"install"},
       "--hooks-dir",
       "instal",
       "install",
       "--hook-dir",
       "--hooks-dir"},
      {"pulse-deploy",
       b + "/plugins/deploy/pulse-deploy",
       {},
       "--environment",
       "hlep",
       "help",
       "--enviroment",
       "--environment"},
  };
}

ProcessResult run(const Binary& bin, std::vector<std::string> args, const EnvOverrides& env = {}) {
  args.insert(args.begin(), bin.path);
  return run_process(args, env);
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// The flags a help text lists ("  --name ...").
std::vector<std::string> listed_flags(const std::string& help) {
  std::vector<std::string> out;
  for (const auto& line : lines(help))
    if (line.starts_with("  --")) out.push_back(line.substr(2, line.find(' ', 2) - 2));
  return out;
}

// Every command a program's help lists: its words after the program's
// name, and whether its usage line takes operands on the command line.
struct Listed {
  std::vector<std::string> words;
  bool operands = false;
};

std::vector<Listed> listed_commands(const Binary& bin) {
  if (bin.command.empty()) return {Listed{}};  // pulse-deploy is its one command
  std::vector<Listed> out;
  for (const auto& line : lines(run(bin, {"help"}).out)) {
    if (!line.starts_with("  " + bin.name + " ") || line.find(" version | help") != std::string::npos) continue;
    // "  NAME WORDS [flags] OPERANDS  summary": the usage ends at two spaces.
    const std::string usage = line.substr(2 + bin.name.size(), line.find("  ", 2) - 2 - bin.name.size());
    std::istringstream words(usage);
    Listed c;
    for (std::string w; words >> w;) {
      if (w == "[flags]") continue;
      if (!std::islower(static_cast<unsigned char>(w[0]))) {
        c.operands = w[0] != '<';  // "COMMIT...", "[PATH...]", "REMOTE"; "< payload" is stdin
        break;
      }
      c.words.push_back(w);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(command_line)

// The framework parses for every command (core/cmdline/command.hpp): whatever a
// command is, an unknown flag and an operand it does not take are refused
// the same way, before it runs, and its help lists each flag once.
BOOST_AUTO_TEST_CASE(every_command_of_every_binary_refuses_what_it_does_not_take) {
  std::size_t seen = 0;
  for (const auto& bin : binaries()) {
    for (const auto& command : listed_commands(bin)) {
      const std::string name = bin.name + (command.words.empty() ? "" : " " + joined(command.words));
      // pre-push is git's hook: it never fails a push, whatever it is given.
      if (name == "pulse-hook pre-push") continue;
      BOOST_TEST_CONTEXT(name) {
        ++seen;
        // Run: its help, an unknown flag, an operand.
        const auto help = run(bin, with(command.words, {"--help"}));
        const auto flag = run(bin, with(command.words, {"--no-such-flag"}));
        const auto operand = run(bin, with(command.words, {"stray-operand"}));
        // Check: each flag listed once (one line, so one default); refusals
        // exit 2 with the command's prefix and the way to its help.
        BOOST_TEST(help.exit_code == 0, help.err);
        auto flags = listed_flags(help.out);
        std::sort(flags.begin(), flags.end());
        BOOST_TEST((std::adjacent_find(flags.begin(), flags.end()) == flags.end()), help.out);
        BOOST_TEST(flag.exit_code == 2);
        BOOST_TEST(flag.err.starts_with(name + ": unknown flag --no-such-flag"), flag.err);
        BOOST_TEST(flag.err.find("Run '" + name + " --help' for usage.") != std::string::npos, flag.err);
        BOOST_TEST(flag.out.empty(), flag.out);
        if (!command.operands) {
          BOOST_TEST(operand.exit_code == 2);
          // A program that is one command takes a stray word for a command.
          BOOST_TEST(operand.err.starts_with(command.words.empty() ? name + ": unknown command \"stray-operand\""
                                                                   : name + ": unexpected argument \"stray-operand\""),
                     operand.err);
        }
      }
    }
  }
  BOOST_TEST(seen >= 20u);  // every binary's commands were found in its help
}

BOOST_AUTO_TEST_CASE(help_unknown_and_near_miss_commands_and_flags_for_every_binary) {
  for (const auto& bin : binaries()) {
    BOOST_TEST_CONTEXT(bin.name) {
      // Setup: what the command's own --help says.
      const std::string cmd = joined(bin.command);
      const std::string prefix = bin.name + (cmd.empty() ? "" : " " + cmd) + ": ";
      const auto own = run(bin, with(bin.command, {"--help"}));
      BOOST_TEST(own.exit_code == 0);
      BOOST_TEST(own.out.starts_with("Usage: " + bin.name + (cmd.empty() ? "" : " " + cmd) + " [flags]"), own.out);
      BOOST_TEST(own.err.empty());

      const auto general = run(bin, {"help"});
      BOOST_TEST(general.exit_code == 0);
      BOOST_TEST(general.out.starts_with(bin.name + ": "), general.out);
      BOOST_TEST(general.out.find("completion bash|zsh|fish") != std::string::npos, general.out);
      if (!bin.command.empty()) BOOST_TEST(run(bin, {"--help"}).out == general.out);
      if (!bin.command.empty()) BOOST_TEST(run(bin, with({"help"}, bin.command)).out == own.out);

      const auto no_args = run(bin, {});
      if (!bin.command.empty()) {  // the program alone: its help, exit 0, as cobra; pulse-deploy alone is its step
        BOOST_TEST(no_args.exit_code == 0);
        BOOST_TEST(no_args.err.empty());
        BOOST_TEST(no_args.out == general.out);
      }

      const auto topic = run(bin, {"help", "nosuch"});
      BOOST_TEST(topic.exit_code == 2);
      BOOST_TEST(topic.out.empty());
      BOOST_TEST(topic.err.starts_with(bin.name + " help: no command \"nosuch\""), topic.err);

      const auto unknown = run(bin, {"nosuch"});
      BOOST_TEST(unknown.exit_code == 2);
      BOOST_TEST(unknown.err.starts_with(bin.name + ": unknown command \"nosuch\""), unknown.err);

      std::vector<std::string> typo;
      for (std::size_t at = 0, next; at <= bin.near_command.size(); at = next + 1) {
        next = std::min(bin.near_command.find(' ', at), bin.near_command.size());
        typo.push_back(bin.near_command.substr(at, next - at));
      }
      const auto near = run(bin, typo);
      BOOST_TEST(near.exit_code == 2);
      BOOST_TEST(near.err.find("did you mean \"" + bin.meant_command + "\"") != std::string::npos, near.err);

      const auto bad_flag = run(bin, with(bin.command, {"--bogus-flag"}));
      BOOST_TEST(bad_flag.exit_code == 2);
      BOOST_TEST(bad_flag.err.starts_with(prefix + "unknown flag --bogus-flag"), bad_flag.err);

      const auto near_flag = run(bin, with(bin.command, {bin.near_flag, "x"}));
      BOOST_TEST(near_flag.exit_code == 2);
      BOOST_TEST(near_flag.err.find("(did you mean " + bin.meant_flag + "?)") != std::string::npos, near_flag.err);

      const auto missing = run(bin, with(bin.command, {bin.flag}));
      BOOST_TEST(missing.exit_code == 2);
      BOOST_TEST(missing.err.starts_with(prefix + bin.flag + " needs a value"), missing.err);

      const auto version = run(bin, {"version"});
      BOOST_TEST(version.exit_code == 0);
      BOOST_TEST(version.out.starts_with(bin.name + " "), version.out);
      BOOST_TEST(run(bin, {"--version"}).out == version.out);

      const auto shell = run(bin, {"completion", "tcsh"});
      BOOST_TEST(shell.exit_code == 2);
      BOOST_TEST(shell.err.find("bash, zsh or fish") != std::string::npos, shell.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(booleans_are_read_strictly_from_flags_and_variables) {
  const auto bin = binaries().front();
  struct Row {
    std::string spelling;
    bool valid;
  };
  for (const Row& row : {Row{"1", true}, Row{"TRUE", true}, Row{"Yes", true}, Row{"on", true}, Row{"0", true},
                         Row{"False", true}, Row{"NO", true}, Row{"off", true}, Row{"bogus", false}, Row{"", false}}) {
    BOOST_TEST_CONTEXT("'" << row.spelling << "'") {
      // Run: the value as --dry-run=V and as PULSE_DRY_RUN (no server: a
      // real send would fail with 4).
      const auto flag = run(bin, {"push", "change", "--identifier", "x", "--base-url", "http://127.0.0.1:9",
                                  "--max-attempts", "1", "--dry-run=" + row.spelling});
      const auto var =
          run(bin, {"push", "change", "--identifier", "x", "--base-url", "http://127.0.0.1:9", "--max-attempts", "1"},
              {{"PULSE_DRY_RUN", row.spelling}});
      // Check: a valid spelling is obeyed; anything else is a usage error naming it.
      if (row.valid) {
        const bool dry = row.spelling == "1" || row.spelling == "TRUE" || row.spelling == "Yes" || row.spelling == "on";
        BOOST_TEST(flag.exit_code == (dry ? 0 : 4), flag.err);
        BOOST_TEST(var.exit_code == (dry ? 0 : 4), var.err);
      } else {
        BOOST_TEST(flag.exit_code == 2);
        BOOST_TEST(flag.err.find("--dry-run takes no value, or one of") != std::string::npos, flag.err);
        if (!row.spelling.empty()) {  // an empty variable is unset
          BOOST_TEST(var.exit_code == 2);
          BOOST_TEST(var.err.find("$PULSE_DRY_RUN=\"bogus\": not a boolean") != std::string::npos, var.err);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(contradicting_flags_are_refused_by_every_client) {
  // Setup: a key file, and the clients with a step that would send.
  TempDir dir;
  write_file(dir.path / "key", "K\n");
  const std::string key = (dir.path / "key").string();
  auto all = binaries();
  struct Client {
    Binary bin;
    std::vector<std::string> args;
  };
  const std::vector<Client> clients{
      {all[0], {"push", "change", "--identifier", "x", "--dry-run"}},
      {all[4], {"--identifier", "d1", "--sha", "abc", "--dry-run"}},
      {all[2], {"report", "--source", "generic"}},
  };
  struct Pair {
    std::vector<std::string> flags;
    std::string message;
    bool incident;  // pulse-incident takes it too
  };
  const std::vector<Pair> pairs{
      {{"--insecure", "--ca-file", key}, "--insecure and --ca-file contradict each other", true},
      {{"--api-key", "K", "--api-key-file", key}, "--api-key and --api-key-file", false},
      {{"--api-key-file", (dir.path / "missing").string()}, "--api-key-file: cannot read", true},
      {{"--ca-file", (dir.path / "missing").string()}, "--ca-file: cannot read", true},
      {{"--timeout", "0"}, "--timeout: must be between 1 and 3600 seconds", false},
      // pulse-incident serve has a --timeout of its own: its reports' is --report-timeout.
      {{"--report-timeout", "0"}, "--report-timeout: must be between 1 and 3600 seconds", true},
      {{"--max-attempts", "21"}, "--max-attempts: must be between 1 and 20", false},
  };
  for (const auto& client : clients) {
    for (const auto& pair : pairs) {
      if ((client.bin.name == "pulse-incident") != pair.incident && pair.flags[0] == "--report-timeout") continue;
      if (client.bin.name == "pulse-incident" && !pair.incident) continue;
      BOOST_TEST_CONTEXT(client.bin.name << " " << joined(pair.flags)) {
        // Run, then check: a usage error naming both, and nothing sent.
        const auto r = run(client.bin, with(client.args, pair.flags));
        BOOST_TEST(r.exit_code == 2);
        BOOST_TEST(r.err.find(pair.message) != std::string::npos, r.err);
        BOOST_TEST(r.out.find("\"$type\"") == std::string::npos, r.out);
      }
    }
  }
  const auto both = run(all[0], {"push", "change", "--identifier", "x", "--dry-run", "--queue"});
  BOOST_TEST(both.exit_code == 2);
  BOOST_TEST(both.err.find("--dry-run and --queue contradict each other") != std::string::npos, both.err);
}

BOOST_AUTO_TEST_CASE(servers_refuse_tls_files_they_cannot_load_as_bad_input) {
  TempDir dir;
  write_file(dir.path / "not.pem", "not a certificate\n");
  const auto all = binaries();
  for (const auto* bin : {&all[1], &all[2]}) {
    for (const std::string& cert : {(dir.path / "missing.pem").string(), (dir.path / "not.pem").string()}) {
      BOOST_TEST_CONTEXT(bin->name << " " << cert) {
        const auto r = run(*bin, {"serve", "--port", "0", "--db", (dir.path / (bin->name + ".db")).string(),
                                  "--tls-cert", cert, "--tls-key", cert});
        BOOST_TEST(r.exit_code == 2);
        BOOST_TEST(r.err.starts_with(bin->name + " serve: load TLS certificate " + cert), r.err);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(bash_completion_completes_commands_and_flags) {
  for (const auto& bin : binaries()) {
    BOOST_TEST_CONTEXT(bin.name) {
      // Setup: the script, loaded into bash.
      TempDir dir;
      const auto script = run(bin, {"completion", "bash"});
      BOOST_TEST_REQUIRE(script.exit_code == 0);
      write_file(dir.path / "completion.bash", script.out);
      auto complete = [&](const std::vector<std::string>& words) {
        std::string array;
        for (const auto& w : words) array += " '" + w + "'";
        const auto r = run_process({"bash", "--norc", "-c",
                                    "source " + (dir.path / "completion.bash").string() + " && COMP_WORDS=(" +
                                        bin.name + array + ") && COMP_CWORD=" + std::to_string(words.size()) + " && _" +
                                        [&] {
                                          std::string fn = bin.name;
                                          std::replace(fn.begin(), fn.end(), '-', '_');
                                          return fn;
                                        }() +
                                        " && printf '%s\\n' \"${COMPREPLY[@]}\""});
        BOOST_TEST(r.exit_code == 0, r.err);
        return lines(r.out);
      };
      // Run and check: the first word of a command, then its flags.
      if (!bin.command.empty()) {
        const auto first = complete({bin.command[0].substr(0, 2)});
        BOOST_TEST((std::find(first.begin(), first.end(), bin.command[0]) != first.end()), bin.command[0]);
      }
      auto words = bin.command;
      words.push_back(bin.flag.substr(0, 4));
      const auto flags = complete(words);
      BOOST_TEST((std::find(flags.begin(), flags.end(), bin.flag) != flags.end()), bin.flag);
      for (const std::string shell : {"zsh", "fish"}) {
        const auto other = run(bin, {"completion", shell});
        BOOST_TEST(other.exit_code == 0);
        BOOST_TEST(other.out.find(bin.flag.substr(2)) != std::string::npos);
        if (run_process({"sh", "-c", "command -v " + shell}).exit_code != 0) {
          BOOST_TEST_MESSAGE(shell << " is not installed: its script is not loaded");
          continue;
        }
        write_file(dir.path / ("completion." + shell), other.out);
        const std::string file = (dir.path / ("completion." + shell)).string();
        const auto loaded =
            shell == "zsh" ? run_process({"zsh", "-fc", "autoload -U +X compinit && compinit -u && source " + file})
                           : run_process({"fish", "-c",
                                          "source " + file + "; complete -C '" + bin.name + " " + joined(bin.command) +
                                              " " + bin.flag.substr(0, 4) + "'"});
        BOOST_TEST(loaded.exit_code == 0, loaded.err);
        if (shell == "fish") BOOST_TEST(loaded.out.find(bin.flag) != std::string::npos, loaded.out);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(the_manual_page_renders_and_lists_what_help_lists) {
  for (const auto& bin : binaries()) {
    BOOST_TEST_CONTEXT(bin.name) {
      TempDir dir;
      const auto page = run(bin, {"man"});
      BOOST_TEST_REQUIRE(page.exit_code == 0);
      write_file(dir.path / (bin.name + ".1"), page.out);
      const auto shown = run_process({"man", "-l", (dir.path / (bin.name + ".1")).string()},
                                     {{"MANWIDTH", "200"}, {"LC_ALL", "C.UTF-8"}, {"MANPAGER", "cat"}});
      BOOST_TEST_REQUIRE(shown.exit_code == 0, shown.err);
      BOOST_TEST(shown.err.empty(), shown.err);
      const auto help = run(bin, with(bin.command, {"--help"}));
      const auto flags = listed_flags(help.out);
      BOOST_TEST(flags.size() >= 2u);
      for (const auto& f : flags)
        if (f != "--help") BOOST_TEST(shown.out.find(f) != std::string::npos, f);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_command_has_a_page_that_renders_and_matches_its_help) {
  for (const auto& bin : binaries()) {
    BOOST_TEST_CONTEXT(bin.name) {
      // Setup
      TempDir dir;
      // Run
      const auto written = run(bin, {"man", "--write", dir.path.string()});
      // Check: the program's page and one per named command, as the help lists them.
      BOOST_TEST_REQUIRE(written.exit_code == 0, written.err);
      const auto files = lines(written.out);
      BOOST_TEST(files.front() == (dir.path / (bin.name + ".1")).string());
      const auto general = run(bin, {"help"});
      std::size_t commands = 0;
      for (const auto& line : lines(general.out))
        if (line.starts_with("  " + bin.name + " ") && line.find(" version | help") == std::string::npos) ++commands;
      if (!bin.command.empty()) BOOST_TEST(files.size() == commands + 1);
      for (std::size_t i = 1; i < files.size(); ++i) {
        const auto shown =
            run_process({"man", "-l", files[i]}, {{"MANWIDTH", "200"}, {"LC_ALL", "C.UTF-8"}, {"MANPAGER", "cat"}});
        BOOST_TEST_REQUIRE(shown.exit_code == 0, shown.err);
        BOOST_TEST(shown.err.empty(), shown.err);
        // The synopsis names the command: its --help lists the flags the page does.
        const auto text = lines(shown.out);
        const auto at = std::find(text.begin(), text.end(), "SYNOPSIS");
        BOOST_TEST_REQUIRE((at != text.end() && at + 1 != text.end()));
        std::vector<std::string> words;
        std::istringstream synopsis(*(at + 1));
        for (std::string w; synopsis >> w && std::islower(static_cast<unsigned char>(w[0]));) words.push_back(w);
        BOOST_TEST_REQUIRE(words.size() >= 2u, *(at + 1));
        std::string stem = joined(words);
        std::replace(stem.begin(), stem.end(), ' ', '-');
        BOOST_TEST(fs::path(files[i]).stem().string() == stem);
        const auto help = run(bin, with({words.begin() + 1, words.end()}, {"--help"}));
        BOOST_TEST_REQUIRE(help.exit_code == 0, joined(words));
        for (const auto& f : listed_flags(help.out))
          if (f != "--help") BOOST_TEST(shown.out.find(f) != std::string::npos, joined(words) + " " + f);
      }
      const auto one = run(bin, {"man", bin.near_command});
      if (!bin.command.empty()) BOOST_TEST(one.exit_code == 2);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
