// convoy eval: how well a checkpoint's model does on a dataset, sharded over the ranks.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/activity.hpp"
#include "apps/checkpoint_model.hpp"
#include "apps/cli_checks.hpp"
#include "apps/commands.hpp"
#include "apps/confusion_table.hpp"
#include "apps/data_sources.hpp"
#include "apps/exit_codes.hpp"
#include "apps/preprocessing_record.hpp"
#include "apps/runtime_info.hpp"
#include "apps/train_options.hpp"
#include "core/error.hpp"
#include "core/model.hpp"
#include "distributed/agreement.hpp"
#include "distributed/evaluate.hpp"
#include "io/checkpoint.hpp"
#include "io/logits_file.hpp"
#include "io/regular_file.hpp"

namespace convoy {
namespace {

struct EvalOptions {
  std::string checkpoint, data, logits;
  int threads = 0;
  int64_t batch = 256;
  bool confusion = false;  // print the confusion matrix and per-class accuracy
  bool json = false;       // print the result as one JSON object instead
};

// Each rank filled only its shard's rows and left the others zero, so the sums over ranks are
// every sample's logits and label, exactly; rank 0 writes them.
void write_all_logits(const std::string& path, std::vector<float>& logits, std::vector<int64_t>& labels,
                      int64_t classes, Communicator& comm) {
  comm.allreduce_sum(logits.data(), static_cast<int64_t>(logits.size()));
  comm.allreduce_sum(labels.data(), static_cast<int64_t>(labels.size()));
  if (comm.rank() == 0) write_logits_file(path, logits, std::vector<int32_t>(labels.begin(), labels.end()), classes);
  comm.barrier();
}

// The data's class names, else the checkpoint's (its preprocessing record), else "class <i>".
std::vector<std::string> class_names_for(const DatasetInfo& data, const TrainingState& state, int64_t classes) {
  if (static_cast<int64_t>(data.class_names.size()) == classes) return data.class_names;
  if (!state.preprocessing_json.empty()) {
    const auto p = nlohmann::json::parse(state.preprocessing_json, nullptr, false);
    if (p.is_object() && p.contains("class_names") && p["class_names"].is_array() &&
        static_cast<int64_t>(p["class_names"].size()) == classes)
      return p["class_names"].get<std::vector<std::string>>();
  }
  std::vector<std::string> names;
  for (int64_t c = 0; c < classes; ++c) names.push_back("class " + std::to_string(c));
  return names;
}

int run_eval(const EvalOptions& o, Communicator& comm) {
  check_settings_on_all_ranks(comm,
                              {{"--checkpoint", o.checkpoint},
                               {"--data", o.data},
                               {"--batch", std::to_string(o.batch)},
                               {"--confusion", std::to_string(o.confusion)},
                               {"--json", std::to_string(o.json)},
                               {"--logits", o.logits}},
                              "the setting");
  require_regular_file(o.checkpoint, "--checkpoint");
  const TrainingState state = read_checkpoint(o.checkpoint);
  const int threads = o.threads > 0 ? o.threads : default_threads();
  std::optional<Activity> building(std::in_place,
                                   "building the checkpoint's model for batches of " + std::to_string(o.batch));
  const std::unique_ptr<Model> model = model_from_checkpoint(state, o.checkpoint, o.batch, threads);
  const ModelSpec& spec = model->spec();
  building.reset();
  // Samples prepared as in training: the training set's normalisation, no augmentation.
  const PreprocessingRecord record = PreprocessingRecord::parse(state.preprocessing_json, o.checkpoint);
  LoaderOptions loading;
  loading.normalization = record.normalization;
  std::unique_ptr<BatchReader> data = open_dataset(o.data, "--data", spec.classes, o.batch, loading);
  CONVOY_CHECK(data->info().sample == spec.input, ShapeError, "--data '", o.data, "': samples are ",
               data->info().sample.str(), ", the checkpoint's model expects ", spec.input.str());
  const int64_t classes = spec.classes, size = data->info().size;
  std::vector<float> logits;
  std::vector<int64_t> labels;
  EvalBatchHook keep_logits;
  if (!o.logits.empty()) {
    logits.assign(static_cast<size_t>(size * classes), 0.0f);
    labels.assign(static_cast<size_t>(size), 0);
    keep_logits = [&](const Batch& batch, const Tensor& out) {
      for (size_t i = 0; i < batch.indices.size(); ++i) {
        const int64_t sample = batch.indices[i];
        std::copy_n(out.data() + static_cast<int64_t>(i) * classes, classes, logits.data() + sample * classes);
        labels[static_cast<size_t>(sample)] = batch.labels[i];
      }
    };
  }
  ConfusionMatrix matrix;
  const EvalReport r =
      evaluate(*model, *data, comm, threads, o.batch, o.confusion ? &matrix.counts : nullptr, keep_logits);
  if (!o.logits.empty()) write_all_logits(o.logits, logits, labels, classes, comm);
  if (comm.rank() != 0) return kExitOk;
  if (o.confusion) matrix.class_names = class_names_for(data->info(), state, spec.classes);
  if (o.json) {
    const nlohmann::json j = o.confusion ? confusion_json(matrix, r)
                                         : nlohmann::json{{"samples", r.samples}, {"loss", r.loss}, {"accuracy", r.accuracy}};
    std::printf("%s\n", j.dump().c_str());
  } else if (o.confusion) {
    std::printf("%s\n", confusion_text(matrix, r).c_str());
  } else {
    std::printf("test: loss=%.4f accuracy=%.2f%% samples=%lld\n", r.loss, 100.0 * r.accuracy,
                static_cast<long long>(r.samples));
  }
  return kExitOk;
}

}  // namespace

void add_eval_command(CLI::App& app, Communicator& comm, int& exit_code) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a checkpoint's model on an HDF5 dataset");
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint file (step-<N>.ckpt)")->required();
  cmd->add_option("--data", o->data, "Dataset (HDF5); several files as one: a,b or a quoted glob 'parts/*.h5'")
      ->required();
  cmd->add_option("--logits", o->logits,
                  "Also write every sample's logits (and label) to this HDF5 file: /logits [N, classes], /labels [N]");
  cmd->add_option("--threads", o->threads, "OpenMP threads per rank (default: the cores available)")
      ->check(integer_in(1, kMaxThreads));
  cmd->add_option("--batch", o->batch, "Samples per forward pass")->capture_default_str()->check(integer_in(1, kMaxBatch));
  cmd->add_flag("--confusion", o->confusion, "Also the confusion matrix with class names and per-class accuracy");
  cmd->add_flag("--json", o->json, "Print the result (and the confusion matrix) as one JSON object");
  cmd->callback([o, &comm, &exit_code] { exit_code = run_eval(*o, comm); });
}

}  // namespace convoy
