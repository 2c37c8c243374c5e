#include "plugins/deploy/deploy.hpp"

#include <iostream>

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return pulse::deploy::run(args, pulse::Env::from_process(), std::cout, std::cerr);
}
