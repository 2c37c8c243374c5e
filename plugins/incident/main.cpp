#include "plugins/incident/app.hpp"

#include <iostream>

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return pulse::incident::run(args, pulse::Env::from_process(), std::cin, std::cout, std::cerr);
}
