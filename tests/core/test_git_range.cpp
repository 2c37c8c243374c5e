// What the range engine reads from commit messages (the ranges themselves
// are checked against git in tests/integration/test_ranges.cpp).
#include "core/git/git_range.hpp"

#include <boost/test/unit_test.hpp>

using namespace pulse;

BOOST_AUTO_TEST_SUITE(git_range)

BOOST_AUTO_TEST_CASE(reverted_commits_are_read_from_git_reverts_wording) {
  const std::string a(40, 'a'), b = "0123456789abcdef0123456789abcdef01234567";
  const std::string messages = "Revert \"feature\"\n\nThis reverts commit " + a + ".\n\n" +
                               "Revert \"two\"\n\nThis reverts commit " + b + ".\nThis reverts commit " + a + ".\n";
  BOOST_TEST(reverted_in(messages) == (std::vector<std::string>{a, b}), boost::test_tools::per_element());
  // Not a full SHA, or longer than one: not a revert git wrote.
  BOOST_TEST(reverted_in("This reverts commit abc1234.").empty());
  BOOST_TEST(reverted_in("This reverts commit " + a + "f").empty());
  BOOST_TEST(reverted_in("This reverts commit " + std::string(40, 'g')).empty());
  BOOST_TEST(reverted_in("This reverts commit " + a) == std::vector<std::string>{a});  // at the very end
  BOOST_TEST(reverted_in(messages, 1).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
