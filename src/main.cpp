// mainstay: the entry point. Wires the command line to the real process environment.
#include <iostream>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
    return mainstay::cli::run(argc, argv, std::cout, std::cerr, mainstay::config::Environment::from_process());
}
