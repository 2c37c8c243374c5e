#define BOOST_TEST_MODULE pulse alerting
#include <boost/test/unit_test.hpp>
