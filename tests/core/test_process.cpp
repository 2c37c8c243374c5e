#include "core/util/process.hpp"
#include "core/util/sys.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <signal.h>
#include <unistd.h>

using namespace pulse;

BOOST_AUTO_TEST_SUITE(process)

BOOST_AUTO_TEST_CASE(parent_of_names_the_parent_and_its_command) {
  // Run: of this process, and of one that does not exist.
  const auto parent = pulse::parent_of(static_cast<int>(::getpid()));
  // Check: the kernel's parent pid, and its name as /proc gives it.
  BOOST_TEST_REQUIRE(parent.has_value());
  BOOST_TEST(parent->first == static_cast<int>(::getppid()));
  std::ifstream comm("/proc/" + std::to_string(::getppid()) + "/comm");
  std::string name;
  std::getline(comm, name);
  BOOST_TEST(parent->second == name);
  BOOST_TEST(!pulse::parent_of(0x7ffffffe).has_value());
}

BOOST_AUTO_TEST_CASE(captures_output_input_and_exit_code) {
  const auto r = run_command({"sh", "-c", "read line; echo \"got $line\"; echo oops >&2; exit 3"}, "", "hello\n");
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.out == "got hello\n");
  BOOST_TEST(r.err == "oops\n");
  BOOST_TEST(run_command({"/nonexistent/program"}).exit_code == -1);
}

BOOST_AUTO_TEST_CASE(the_deadline_holds_while_a_grandchild_keeps_the_output_open) {
  // The shell exits at once, but the background sleep inherits stdout: a
  // reader that waits for end of file would wait 30 s.
  const auto start = std::chrono::steady_clock::now();
  const auto r =
      run_command({"sh", "-c", "echo started; sleep 30; echo never"}, "", "", std::chrono::milliseconds(500));
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST(r.exit_code == -1);
  BOOST_TEST(r.out == "started\n");
  BOOST_TEST(r.err.find("timed out after 500 ms") != std::string::npos, r.err);
  BOOST_TEST(seconds < 10.0);
  const auto bg = run_command({"sh", "-c", "(sleep 30 &) ; echo forked"}, "", "", std::chrono::milliseconds(500));
  BOOST_TEST(bg.out == "forked\n");
  BOOST_TEST(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 20.0);
}

BOOST_AUTO_TEST_CASE(the_deadline_holds_against_output_held_open_outside_the_group_and_a_child_that_closed_it) {
  // A daemon in a session of its own keeps stdout open after the shell
  // exits: killing the group cannot close it, the reader stops at the deadline.
  const auto start = std::chrono::steady_clock::now();
  const auto daemon = run_command({"sh", "-c", "setsid sleep 5 & echo $!"}, "", "", std::chrono::milliseconds(500));
  BOOST_TEST(daemon.err.find("timed out after 500 ms") != std::string::npos, daemon.err);
  BOOST_TEST(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 4.0);
  BOOST_TEST_REQUIRE(!daemon.out.empty());
  ::kill(std::stoi(daemon.out), SIGKILL);  // the daemon, which no group kill reaches
  // A child that closes its outputs and runs on is killed at the deadline.
  const auto quiet =
      run_command({"sh", "-c", "echo bye; exec >&- 2>&-; sleep 30"}, "", "", std::chrono::milliseconds(500));
  BOOST_TEST(quiet.exit_code == -1);
  BOOST_TEST(quiet.out == "bye\n");
  BOOST_TEST(quiet.err.find("timed out after 500 ms") != std::string::npos, quiet.err);
  BOOST_TEST(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 8.0);
}

BOOST_AUTO_TEST_CASE(input_larger_than_a_pipe_and_a_child_that_reads_none) {
  const std::string big(1 << 20, 'x');
  const auto counted = run_command({"wc", "-c"}, "", big);
  BOOST_TEST(counted.exit_code == 0);
  BOOST_TEST(counted.out.find("1048576") != std::string::npos, counted.out);
  // A child that sends its output elsewhere still gets all of its input.
  const auto file = std::filesystem::temp_directory_path() / ("pulse-count-" + std::to_string(::getpid()));
  const auto elsewhere = run_command({"sh", "-c", "exec >\"$0\" 2>&-; wc -c", file.string()}, "", big);
  BOOST_TEST(elsewhere.exit_code == 0);
  std::ifstream counted_file(file);
  std::string count;
  counted_file >> count;
  BOOST_TEST(count == "1048576");
  std::filesystem::remove(file);
  // The child exits without reading: no SIGPIPE ends us, its exit code is kept.
  const auto ignored = run_command({"sh", "-c", "exit 4"}, "", big);
  BOOST_TEST(ignored.exit_code == 4);
}

BOOST_AUTO_TEST_SUITE_END()
