#include "core/util/build_info.hpp"

#include "../support/support.hpp"

#include <boost/test/unit_test.hpp>

using namespace pulse;
using namespace pulse::test;

BOOST_AUTO_TEST_SUITE(build_info)

BOOST_AUTO_TEST_CASE(version_names_the_commit_git_says_the_build_was_made_from) {
  // Setup: git itself is the oracle.
  const fs::path source = PULSE_TEST_SOURCE_DIR;
  if (!fs::exists(source / ".git")) {
    BOOST_TEST(build_commit().empty());  // a source tarball: the release version alone
    BOOST_TEST(version_text() == PULSE_VERSION);
    return;
  }
  const auto head = run_process({"git", "-C", source.string(), "rev-parse", "--short=12", "HEAD"});
  BOOST_TEST_REQUIRE(head.exit_code == 0, head.err);
  // Run
  const std::string commit(build_commit());
  // Check
  BOOST_TEST(commit.substr(0, 12) == head.out.substr(0, 12));
  BOOST_TEST((commit.size() == 12 || commit.substr(12) == "-dirty"), commit);
  BOOST_TEST(version_text() == std::string(PULSE_VERSION) + " (commit " + commit + ")");
}

BOOST_AUTO_TEST_SUITE_END()
