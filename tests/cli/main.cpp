#define BOOST_TEST_MODULE pulse cli
#include <boost/test/unit_test.hpp>
