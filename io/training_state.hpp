// TrainingState: everything a checkpoint holds, as a plain struct the trainer fills and reads back.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace convoy {

// One run's resumable state. io stores it verbatim: the caller computes the fingerprint, the
// JSON texts and the buffers; read_checkpoint gives back exactly what write_checkpoint got.
struct TrainingState {
  std::string model_spec_json;   // the model as JSON text ({"name": ..., "layers": [...]})
  uint64_t model_fingerprint = 0;  // equal for models that can share checkpoints
  std::vector<float> parameters;   // the flat parameter store
  std::vector<float> buffers;      // the model's buffer store (running statistics); empty in format 1

  std::string optimizer_json;  // optimizer type and settings
  std::vector<std::pair<std::string, std::vector<float>>> optimizer_buffers;  // "momentum", "adam_m", ...
  int64_t optimizer_step = 0;
  std::string schedule_json;  // learning-rate schedule and its position

  int64_t epoch = 0;           // current epoch (0-based)
  int64_t step = 0;            // optimizer steps taken over the whole run
  int64_t batch_in_epoch = 0;  // sample cursor: next global batch index within the epoch
  uint64_t seed = 0;
  int world_size = 1;  // ranks the checkpoint was written with
  int64_t global_batch = 0;
  int64_t dataset_size = 0;
  std::vector<int64_t> sample_shape;  // one sample, e.g. {1, 28, 28}
  uint64_t dataset_fingerprint = 0;   // a hash of the training data's shape, classes and samples; 0 in format 1
  std::string preprocessing_json;     // how samples were prepared (size, colour, normalisation, class names); may be ""

  std::vector<std::string> metrics_history;  // the JSON lines logged so far
  std::string settings_json;                 // free-form: the command line's settings
};

}  // namespace convoy
