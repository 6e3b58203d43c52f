#include "apps/checkpoint_model.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace convoy {

std::unique_ptr<Model> model_from_checkpoint(const TrainingState& state, const std::string& path, int64_t max_batch,
                                             int threads) {
  ModelSpec spec;
  try {
    spec = ModelSpec::from_json(parse_model_json(state.model_spec_json));
  } catch (const ConfigError& e) {
    throw IoError("checkpoint '" + path + "': " + e.what());
  }
  auto model = std::make_unique<Model>(spec, max_batch, threads);
  CONVOY_CHECK(model->fingerprint() == state.model_fingerprint, IoError, "checkpoint '", path,
               "': its model spec does not match its fingerprint");
  load_model_state(state, path, *model);
  return model;
}

void load_model_state(const TrainingState& state, const std::string& path, Model& model) {
  CONVOY_CHECK(static_cast<int64_t>(state.parameters.size()) == model.parameter_count(), IoError, "checkpoint '",
               path, "': ", state.parameters.size(), " parameters, its model has ", model.parameter_count());
  CONVOY_CHECK(static_cast<int64_t>(state.buffers.size()) == model.buffer_count(), IoError, "checkpoint '", path,
               "': ", state.buffers.size(), " buffer values (running statistics), its model has ",
               model.buffer_count());
  std::copy(state.parameters.begin(), state.parameters.end(), model.parameters());
  std::copy(state.buffers.begin(), state.buffers.end(), model.buffers());
}

}  // namespace convoy
