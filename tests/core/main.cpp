#define BOOST_TEST_MODULE pulse core
#include <boost/test/unit_test.hpp>
