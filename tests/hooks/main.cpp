#define BOOST_TEST_MODULE pulse hooks
#include <boost/test/unit_test.hpp>
