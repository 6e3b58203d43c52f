// convoy predict: class probabilities of image files from a checkpoint's model.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/checkpoint_model.hpp"
#include "apps/commands.hpp"
#include "apps/exit_codes.hpp"
#include "apps/image_size_option.hpp"
#include "apps/runtime_info.hpp"
#include "core/error.hpp"
#include "io/checkpoint.hpp"
#include "io/class_names.hpp"
#include "io/hdf5_dataset.hpp"
#include "io/image_import.hpp"

namespace convoy {
namespace {

struct PredictOptions {
  std::string checkpoint, class_names, data, filter = "bilinear";
  std::vector<std::string> inputs;
  int64_t top_k = 3, batch = 64;
  int threads = 0;
  bool json = false, crop = false, pad = false;
};

// Files as given; a folder stands for every image file below it, sorted.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    if (std::filesystem::is_directory(input)) {
      const std::vector<std::string> below = image_files_below(input);
      CONVOY_CHECK(!below.empty(), IoError, "folder '", input, "': expected image files below it, found none");
      files.insert(files.end(), below.begin(), below.end());
    } else {
      files.push_back(input);
    }
  }
  return files;
}

// The class_names a checkpoint's preprocessing record holds, if any.
std::vector<std::string> checkpoint_class_names(const TrainingState& state) {
  if (state.preprocessing_json.empty()) return {};
  const nlohmann::json j = nlohmann::json::parse(state.preprocessing_json, nullptr, false);
  if (!j.is_object() || !j.contains("class_names") || !j["class_names"].is_array()) return {};
  std::vector<std::string> names;
  for (const auto& name : j["class_names"])
    if (name.is_string()) names.push_back(name.get<std::string>());
  return names;
}

// --class-names, else the dataset's (--data), else the checkpoint's, else "0", "1", ...
std::vector<std::string> class_names_for(const PredictOptions& o, const TrainingState& state, int64_t classes) {
  std::vector<std::string> names;
  std::string source = "checkpoint '" + o.checkpoint + "'";
  if (!o.class_names.empty()) {
    source = "--class-names";
    for (size_t start = 0;;) {
      const size_t comma = o.class_names.find(',', start);
      names.push_back(o.class_names.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else if (!o.data.empty()) {
    source = "--data '" + o.data + "'";
    names = Hdf5Dataset::open(o.data).info().class_names;
  } else {
    names = checkpoint_class_names(state);
  }
  if (names.empty()) return numbered_class_names(classes);
  CONVOY_CHECK(static_cast<int64_t>(names.size()) == classes, ConfigError, source, ": ", names.size(),
               " class names, the checkpoint's model has ", classes, " classes");
  return names;
}

// Decodes and prepares files [begin, end) into `input` [n, C, H, W] in [0, 1], as the loader
// reads a dataset (uint8 / 255). A file that fails leaves its message in errors[i - begin].
void load_batch(const std::vector<std::string>& files, int64_t begin, int64_t end, const Shape& sample,
                AspectMode aspect, ResizeFilter filter, int threads, float* input, std::vector<std::string>& errors) {
  const int64_t c = sample[0], h = sample[1], w = sample[2];
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t i = begin; i < end; ++i) {
    errors[i - begin].clear();
    try {
      const Image image = prepare_image(read_image_file(files[i]), h, w, c, aspect, filter);
      float* out = input + (i - begin) * c * h * w;
      for (int64_t k = 0; k < c; ++k)
        for (int64_t p = 0; p < h * w; ++p) out[k * h * w + p] = image.pixels[p * c + k] / 255.0f;
    } catch (const std::exception& e) {
      errors[i - begin] = e.what();
    }
  }
}

void print_prediction(const std::string& file, const float* logits, const std::vector<std::string>& names,
                      int64_t top_k, bool json) {
  const auto classes = static_cast<int64_t>(names.size());
  const float top = *std::max_element(logits, logits + classes);
  std::vector<double> p(static_cast<size_t>(classes));
  double sum = 0.0;
  for (int64_t k = 0; k < classes; ++k) sum += p[k] = std::exp(static_cast<double>(logits[k] - top));
  for (double& v : p) v /= sum;
  std::vector<int64_t> order(static_cast<size_t>(classes));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  order.resize(static_cast<size_t>(std::min(top_k, classes)));
  if (json) {
    nlohmann::json j = {{"file", file}, {"top", nlohmann::json::array()}};
    for (int64_t k : order) j["top"].push_back({{"class", names[k]}, {"label", k}, {"probability", p[k]}});
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::string line = file + ":";
  char text[64];
  for (int64_t k : order) {
    std::snprintf(text, sizeof(text), " (%.4f)", p[k]);
    line += " " + names[k] + text;
  }
  std::printf("%s\n", line.c_str());
}

int run_predict(const PredictOptions& o) {
  CONVOY_CHECK(o.top_k >= 1, ConfigError, "--top-k ", o.top_k, ": expected >= 1");
  CONVOY_CHECK(o.batch >= 1, ConfigError, "--batch ", o.batch, ": expected >= 1");
  CONVOY_CHECK(o.threads >= 0, ConfigError, "--threads ", o.threads, ": expected >= 1");
  const ResizeFilter filter = parse_resize_target("", o.filter).filter;
  const AspectMode aspect = o.crop ? AspectMode::crop : o.pad ? AspectMode::pad : AspectMode::stretch;
  const std::vector<std::string> files = expand_inputs(o.inputs);
  const int threads = o.threads > 0 ? o.threads : default_threads();
  const TrainingState state = read_checkpoint(o.checkpoint);
  const std::unique_ptr<Model> model = model_from_checkpoint(state, o.checkpoint, o.batch, threads);
  const Shape& sample = model->spec().input;
  CONVOY_CHECK(sample.rank() == 3 && (sample[0] == 1 || sample[0] == 3), ConfigError, "checkpoint '", o.checkpoint,
               "': expected a model of 1 or 3 input channels [C, H, W], found input ", sample.str());
  const std::vector<std::string> names = class_names_for(o, state, model->spec().classes);

  PassContext ctx;
  ctx.threads = threads;
  ctx.training = false;
  const int64_t sample_numel = sample.numel();
  std::vector<float> input(static_cast<size_t>(o.batch * sample_numel));
  std::vector<std::string> errors(static_cast<size_t>(o.batch));
  int64_t bad = 0;
  for (int64_t begin = 0; begin < static_cast<int64_t>(files.size()); begin += o.batch) {
    const int64_t end = std::min<int64_t>(static_cast<int64_t>(files.size()), begin + o.batch);
    load_batch(files, begin, end, sample, aspect, filter, threads, input.data(), errors);
    // Good files move to the front of the batch, in order; bad ones are reported where they were.
    std::vector<int64_t> good;
    for (int64_t i = begin; i < end; ++i) {
      if (!errors[i - begin].empty()) {
        std::fprintf(stderr, "convoy: %s\n", errors[i - begin].c_str());
        ++bad;
        continue;
      }
      const auto slot = static_cast<int64_t>(good.size());
      if (slot != i - begin)
        std::copy_n(input.data() + (i - begin) * sample_numel, sample_numel, input.data() + slot * sample_numel);
      good.push_back(i);
    }
    if (good.empty()) continue;
    const auto n = static_cast<int64_t>(good.size());
    const Tensor& logits =
        model->forward(Tensor::view(input.data(), Shape{n, sample[0], sample[1], sample[2]}), ctx);
    for (int64_t j = 0; j < n; ++j)
      print_prediction(files[good[j]], logits.data() + j * model->spec().classes, names, o.top_k, o.json);
  }
  std::fflush(stdout);
  if (bad == 0) return kExitOk;
  std::fprintf(stderr, "convoy: %lld of %zu files could not be read (listed above); the others were predicted\n",
               static_cast<long long>(bad), files.size());
  return kExitError;
}

}  // namespace

void add_predict_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "Classify image files with a checkpoint's model (exit 1 if any file could not be read)");
  cmd->add_option("files", o->inputs, "Image files (PNG, JPEG, BMP, GIF) or folders of them")->required();
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint file (step-<N>.ckpt)")->required();
  cmd->add_option("--top-k", o->top_k, "Classes printed per file, most probable first")->capture_default_str();
  cmd->add_flag("--json", o->json, "One JSON object per file: {\"file\", \"top\": [{\"class\", \"label\", \"probability\"}]}");
  auto* names = cmd->add_option("--class-names", o->class_names, "Comma-separated class names in label order");
  cmd->add_option("--data", o->data,
                  "Take the class names from this dataset (HDF5, e.g. the training set) instead of the checkpoint")
      ->excludes(names);
  auto* crop = cmd->add_flag("--crop-to-aspect", o->crop, "Centre-crop to the model's aspect ratio (as at import)");
  cmd->add_flag("--pad-to-aspect", o->pad, "Pad to the model's aspect ratio (as at import)")->excludes(crop);
  cmd->add_option("--resize-filter", o->filter, "area or bilinear (as at import)")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Images per forward pass")->capture_default_str();
  cmd->add_option("--threads", o->threads, "OpenMP threads (default: the cores available)");
  cmd->callback([o, &exit_code] { exit_code = run_predict(*o); });
}

}  // namespace convoy
