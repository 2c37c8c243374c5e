#define BOOST_TEST_MODULE pulse ci
#include <boost/test/unit_test.hpp>
