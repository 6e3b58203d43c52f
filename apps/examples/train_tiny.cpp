// train_tiny: Convoy as a library. Builds a small model in code, trains it on an HDF5 dataset
// (a tiny one it writes itself unless given one) and saves a verified checkpoint.
//
//   train_tiny OUT_DIR [DATA.h5]
//
// Prints one line per epoch and ends with "checkpoint: OUT_DIR/step-<N>.ckpt". Run it under
// mpirun and the same code trains data-parallel (make_communicator picks MPI there).
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model.hpp"
#include "core/model_spec.hpp"
#include "core/optimizer.hpp"
#include "distributed/make_communicator.hpp"
#include "distributed/trainer.hpp"
#include "io/checkpoint.hpp"
#include "io/hdf5_dataset.hpp"
#include "io/hdf5_dataset_writer.hpp"
#include "io/loader.hpp"

namespace {

using namespace convoy;

// 256 grey 8x8 images of two classes: a bright left half (0) or a bright right half (1), with
// a little deterministic noise.
void write_tiny_dataset(const std::string& path) {
  const int64_t n = 256, h = 8, w = 8;
  std::vector<uint8_t> images(n * h * w);
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = static_cast<int32_t>(i % 2);
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const bool bright = (x < w / 2) == (labels[i] == 0);
        images[(i * h + y) * w + x] = static_cast<uint8_t>((bright ? 160 : 40) + (i * 7 + y * 3 + x) % 50);
      }
  }
  write_hdf5_dataset(path, {n, h, w, 1}, images.data(), labels.data(), {"left", "right"});
}

// A layer reading the one before it (no `inputs`), as a model file's {"type", "name", "options"}.
LayerSpec layer(std::string type, std::string name, nlohmann::json options = nlohmann::json::object()) {
  return {.type = std::move(type), .name = std::move(name), .inputs = {}, .options = std::move(options)};
}

// conv 3x3 (4 channels) -> relu -> 2x2 max pool -> flatten -> dense to the classes.
ModelSpec tiny_model(const DatasetInfo& data) {
  return {.name = "tiny",
          .input = data.sample,
          .classes = data.classes,
          .layers = {layer("conv2d", "conv", {{"out_channels", 4}, {"kernel", 3}, {"padding", "same"}}),
                     layer("relu", "relu"), layer("max_pool2d", "pool", {{"window", 2}}), layer("flatten", "flatten"),
                     layer("dense", "classifier", {{"units", data.classes}})}};
}

// Everything a checkpoint holds: the model, the optimizer and where the run stands.
TrainingState training_state(Model& model, Optimizer& optimizer, const LrSchedule& schedule,
                             const TrainerConfig& config, const DatasetInfo& data, const TrainingCursor& cursor) {
  TrainingState s;
  s.model_spec_json = model.spec().to_json().dump();
  s.model_fingerprint = model.fingerprint();
  s.parameters.assign(model.parameters(), model.parameters() + model.parameter_count());
  s.buffers.assign(model.buffers(), model.buffers() + model.buffer_count());
  s.optimizer_json = optimizer.config().to_json().dump();
  for (const OptimizerBuffer& b : optimizer.state()) s.optimizer_buffers.emplace_back(b.name, b.values);
  s.optimizer_step = optimizer.steps();
  s.schedule_json = schedule.to_json().dump();
  s.epoch = cursor.epoch;
  s.step = cursor.global_step;
  s.batch_in_epoch = cursor.batch_in_epoch;
  s.seed = config.seed;
  s.global_batch = config.global_batch;
  s.dataset_size = data.size;
  for (int i = 0; i < data.sample.rank(); ++i) s.sample_shape.push_back(data.sample[i]);
  return s;
}

class PrintEpochs final : public TrainingObserver {
 public:
  void on_epoch(const EpochReport& r) override {
    std::printf("epoch %lld: loss=%.4f accuracy=%.2f%%\n", static_cast<long long>(r.epoch) + 1, r.train_loss,
                100.0 * r.train_accuracy);
  }
};

int run(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: train_tiny OUT_DIR [DATA.h5]\n");
    return 2;
  }
  std::unique_ptr<Communicator> comm = make_communicator(&argc, &argv);
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  std::string data_path = argc == 3 ? argv[2] : (out / "tiny.h5").string();
  if (argc == 2) {
    // One writer: ranks writing the same file at once would race.
    if (comm->size() > 1) throw std::runtime_error("under mpirun, give DATA.h5 (expected 2 arguments, found 1)");
    write_tiny_dataset(data_path);
  }
  Loader train(Hdf5Dataset::open(data_path));
  const DatasetInfo data = train.info();

  const TrainerConfig config{.epochs = 5, .global_batch = 32, .seed = 7, .threads = 1, .log_every = 1000};
  Model model(tiny_model(data), config.global_batch, config.threads);
  model.initialize(config.seed);  // draws the weights from the seed: without it they stay zero and nothing trains
  std::unique_ptr<Optimizer> optimizer = make_optimizer({.type = "adam"}, model.parameter_count());
  const LrSchedule schedule{.base_lr = 0.01f};

  Trainer trainer(model, *optimizer, schedule, *comm, config);
  std::string saved;
  trainer.set_checkpoint_hook([&](const TrainingCursor& cursor) {
    if (comm->rank() != 0) return;
    saved = (out / ("step-" + std::to_string(cursor.global_step) + ".ckpt")).string();
    write_checkpoint(saved, training_state(model, *optimizer, schedule, config, data, cursor));
  });
  trainer.synchronize_start(data);
  PrintEpochs print;
  TrainingObserver silent;
  trainer.fit(train, nullptr, comm->rank() == 0 ? static_cast<TrainingObserver&>(print) : silent);

  if (comm->rank() == 0) {
    verify_checkpoint(saved);  // throws IoError naming the file if it does not read back
    std::printf("checkpoint: %s\n", saved.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_tiny: %s\n", e.what());
    return 1;
  }
}
