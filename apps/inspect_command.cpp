// convoy inspect: what a checkpoint holds, printed after the file is verified.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/commands.hpp"
#include "apps/exit_codes.hpp"
#include "io/checkpoint.hpp"
#include "io/regular_file.hpp"

namespace convoy {

void add_inspect_command(CLI::App& app, int& exit_code) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("inspect", "Print what a checkpoint holds (verifies it first)");
  cmd->add_option("checkpoint", *path, "Checkpoint file")->required();
  cmd->callback([path, &exit_code] {
    require_regular_file(*path, "checkpoint");
    std::printf("%s\n", describe_checkpoint(read_checkpoint(*path), *path).c_str());
    exit_code = kExitOk;
  });
}

}  // namespace convoy
