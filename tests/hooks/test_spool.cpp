// The push record pulse-hook writes in pre-push and the worker confirms:
// what is written reads back the same, and a record cut short is known to be.
#include "hooks/spool.hpp"

#include <boost/test/unit_test.hpp>

using namespace pulse::hook;

namespace {

SpoolRecord sample() {
  SpoolRecord r;
  r.git_dir = "/home/a b/repo/.git";  // a space inside a value
  r.remote = "origin";
  r.url = "git@github.com:acme/shop.git";
  r.push_pid = 4242;
  r.recorded_at = 1767225600;
  r.tips = {std::string(40, 'a'), std::string(40, 'b')};
  r.updates = {{"refs/heads/main", std::string(40, 'c'), "refs/heads/main", std::string(40, 'a')},
               {"refs/heads/x", std::string(40, 'd'), "refs/heads/x", std::string(40, '0')}};
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(spool)

BOOST_AUTO_TEST_CASE(a_record_reads_back_as_written) {
  // Setup, run: format, then parse.
  const SpoolRecord r = sample();
  const SpoolRecord back = parse_spool(format_spool(r));
  // Check: every field, and complete.
  BOOST_TEST(back.complete);
  BOOST_TEST(back.git_dir == r.git_dir);
  BOOST_TEST(back.remote == r.remote);
  BOOST_TEST(back.url == r.url);
  BOOST_TEST(back.push_pid == r.push_pid);
  BOOST_TEST(back.recorded_at == r.recorded_at);
  BOOST_TEST(back.tips == r.tips, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(back.updates.size(), r.updates.size());
  for (std::size_t i = 0; i < r.updates.size(); ++i) {
    BOOST_TEST(back.updates[i].local_ref == r.updates[i].local_ref);
    BOOST_TEST(back.updates[i].local_sha == r.updates[i].local_sha);
    BOOST_TEST(back.updates[i].remote_ref == r.updates[i].remote_ref);
    BOOST_TEST(back.updates[i].remote_sha == r.updates[i].remote_sha);
  }
}

BOOST_AUTO_TEST_CASE(a_record_cut_short_anywhere_is_incomplete) {
  const std::string text = format_spool(sample());
  // Every prefix but the whole: a crash mid-write at any byte.
  for (std::size_t n = 0; n < text.size(); ++n) {
    BOOST_TEST_CONTEXT("cut at byte " << n) {
      const SpoolRecord cut = parse_spool(std::string_view(text).substr(0, n));
      BOOST_TEST(!cut.complete);
      BOOST_TEST(cut.updates.size() <= 2u);
      // A value is never taken from a line cut short.
      BOOST_TEST((cut.git_dir.empty() || cut.git_dir == sample().git_dir));
      BOOST_TEST((cut.push_pid == 0 || cut.push_pid == 4242));
    }
  }
  BOOST_TEST(parse_spool(text).complete);
}

BOOST_AUTO_TEST_CASE(update_lines_need_four_fields) {
  const auto u = parse_updates("refs/heads/a 1 refs/heads/a 0\nHEAD 2  \n\nrefs/heads/b 3 refs/heads/b 0 extra\n");
  BOOST_REQUIRE_EQUAL(u.size(), 2u);
  BOOST_TEST(u[0].local_sha == "1");
  BOOST_TEST(u[1].remote_ref == "refs/heads/b");
}

BOOST_AUTO_TEST_SUITE_END()
