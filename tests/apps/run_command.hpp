// Runs the convoy binary (or any shell command) from tests and captures what it printed.
#pragma once

#include <string>

#include "tests/support/temp_dir.hpp"

namespace convoy::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

CommandResult run_command(const std::string& command);

}  // namespace convoy::testing
