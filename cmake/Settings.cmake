# Two INTERFACE targets that our own targets link: build settings and warnings.
# Third-party code never sees them.
add_library(pulse_settings INTERFACE)
target_compile_features(pulse_settings INTERFACE cxx_std_20)
target_compile_definitions(pulse_settings INTERFACE
  # Asio and Beast are compiled once, in core/net/asio_impl.cpp, instead of in
  # every translation unit that includes them: this roughly halves build time
  # on 2 cores.
  BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED
  BOOST_TEST_DYN_LINK
  PULSE_VERSION="${PROJECT_VERSION}")

add_library(pulse_warnings INTERFACE)
target_compile_options(pulse_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local
  -Wcast-align -Wunused -Woverloaded-virtual)
# GCC 12 reports std::string internals at -O2 (-Wrestrict, GCC bug 105651):
# false positives that -Werror would turn into a broken build.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(pulse_warnings INTERFACE -Wno-restrict)
endif()
if(PULSE_WERROR)
  target_compile_options(pulse_warnings INTERFACE -Werror)
endif()
