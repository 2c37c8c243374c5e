#define BOOST_TEST_MODULE pulse collector
#include <boost/test/unit_test.hpp>
