// convoy export: a checkpoint's parameters and buffers as an HDF5 weights file in PyTorch's layouts.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/checkpoint_model.hpp"
#include "apps/commands.hpp"
#include "apps/exit_codes.hpp"
#include "apps/weights_exchange.hpp"
#include "io/checkpoint.hpp"

namespace convoy {
namespace {

struct ExportOptions {
  std::string checkpoint, output;
};

int run_export(const ExportOptions& o) {
  const TrainingState state = read_checkpoint(o.checkpoint);
  const std::unique_ptr<Model> model = model_from_checkpoint(state, o.checkpoint, 1, 1);
  const std::vector<WeightTensor> tensors = export_weights(*model);
  write_weights_file(o.output, tensors, state.model_spec_json);
  std::printf("wrote %s: %zu tensors of model %s\n", o.output.c_str(), tensors.size(), model->spec().name.c_str());
  return kExitOk;
}

}  // namespace

void add_export_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Write a checkpoint's weights as HDF5 (/<layer>/<tensor>, PyTorch layouts)");
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint file")->required();
  cmd->add_option("-o,--output", o->output, "HDF5 weights file to write")->required();
  cmd->callback([o, &exit_code] { exit_code = run_export(*o); });
}

}  // namespace convoy
