#include "process.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>

using namespace pulse;

BOOST_AUTO_TEST_SUITE(process)

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
  const auto r = run_command({"sh", "-c", "echo started; sleep 30; echo never"}, "", "", std::chrono::milliseconds(500));
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST(r.exit_code == -1);
  BOOST_TEST(r.out == "started\n");
  BOOST_TEST(r.err.find("timed out after 500 ms") != std::string::npos, r.err);
  BOOST_TEST(seconds < 10.0);
  const auto bg = run_command({"sh", "-c", "(sleep 30 &) ; echo forked"}, "", "", std::chrono::milliseconds(500));
  BOOST_TEST(bg.out == "forked\n");
  BOOST_TEST(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 20.0);
}

BOOST_AUTO_TEST_SUITE_END()
