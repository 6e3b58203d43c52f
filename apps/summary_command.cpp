// convoy summary: a model's layers, shapes, parameters and FLOPs, as Keras' model.summary() shows them.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/commands.hpp"
#include "apps/data_sources.hpp"
#include "apps/exit_codes.hpp"
#include "core/model.hpp"

namespace convoy {
namespace {

struct SummaryOptions {
  std::string model;
  std::string input = "1x28x28";
  int64_t classes = 10;
};

int run_summary(const SummaryOptions& o) {
  DatasetInfo data;
  data.sample = parse_sample_shape(o.input, "--input");
  data.classes = o.classes;
  const Model model(resolve_model(o.model, data), 1, 1);
  std::printf("%s\n", model.summary().c_str());
  return kExitOk;
}

}  // namespace

void add_summary_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SummaryOptions>();
  CLI::App* cmd = app.add_subcommand("summary", "Print a model's layers, output shapes, parameters and FLOPs");
  cmd->add_option("--model", o->model, "Built-in model name or JSON model file")->required();
  cmd->add_option("--input", o->input, "One sample's shape, CxHxW")->capture_default_str();
  cmd->add_option("--classes", o->classes, "Classes the model outputs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->callback([o, &exit_code] { exit_code = run_summary(*o); });
}

}  // namespace convoy
