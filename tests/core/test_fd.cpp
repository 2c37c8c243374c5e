#include "core/util/fd.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <utility>

using namespace pulse;

namespace {
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int open_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
}  // namespace

BOOST_AUTO_TEST_SUITE(fd)

BOOST_AUTO_TEST_CASE(closes_what_it_owns_when_it_goes) {
  // Setup
  const int raw = open_null();
  BOOST_TEST_REQUIRE(raw >= 0);
  // Run
  { const Fd owner(raw); }
  // Check
  BOOST_TEST(!is_open(raw));
}

BOOST_AUTO_TEST_CASE(a_move_hands_over_ownership_once) {
  // Setup
  const int raw = open_null();
  Fd first(raw);
  // Run
  Fd second(std::move(first));
  // Check
  BOOST_TEST(!first);
  BOOST_TEST(second.get() == raw);
  first = std::move(second);  // back again: still open, owned once
  BOOST_TEST(first.get() == raw);
  BOOST_TEST(is_open(raw));
  first.reset();
  BOOST_TEST(!is_open(raw));
}

BOOST_AUTO_TEST_CASE(reset_closes_the_old_one_and_release_gives_it_up) {
  // Setup
  const int a = open_null(), b = open_null();
  Fd owner(a);
  // Run
  owner.reset(b);
  // Check
  BOOST_TEST(!is_open(a));
  BOOST_TEST(owner.release() == b);
  BOOST_TEST(!owner);
  BOOST_TEST(is_open(b));  // released: the caller closes it
  ::close(b);
}

BOOST_AUTO_TEST_CASE(move_assignment_closes_what_it_held) {
  // Setup
  const int a = open_null(), b = open_null();
  Fd left(a), right(b);
  // Run
  left = std::move(right);
  // Check
  BOOST_TEST(!is_open(a));
  BOOST_TEST(left.get() == b);
}

BOOST_AUTO_TEST_SUITE_END()
