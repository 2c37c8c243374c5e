#define BOOST_TEST_MODULE pulse integration
#include <boost/test/unit_test.hpp>
