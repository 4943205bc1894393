#include "cli/commands.h"

#include <iostream>

namespace strata::cli {

void RegisterVersionCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("version", "Print the Strata version");
  cmd->callback([exit_code] {
    std::cout << "strata 0.1.0\n";
    *exit_code = 0;
  });
}

}  // namespace strata::cli
