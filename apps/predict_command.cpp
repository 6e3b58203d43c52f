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
#include "apps/cli_checks.hpp"
#include "apps/commands.hpp"
#include "apps/data_sources.hpp"
#include "apps/exit_codes.hpp"
#include "apps/preprocessing_record.hpp"
#include "apps/runtime_info.hpp"
#include "apps/train_options.hpp"
#include "core/error.hpp"
#include "io/checkpoint.hpp"
#include "io/class_names.hpp"
#include "io/image_import.hpp"

namespace convoy {
namespace {

struct PredictOptions {
  std::string checkpoint, class_names, data, filter;  // filter "": the checkpoint's (Note [Preprocessing record])
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

// --class-names, else the dataset's (--data), else the checkpoint's, else "0", "1", ...
std::vector<std::string> class_names_for(const PredictOptions& o, const PreprocessingRecord& record,
                                         int64_t classes) {
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
    names = open_dataset_parts(o.data, "--data", 0, 1).info().class_names;
  } else {
    names = record.class_names;
  }
  if (names.empty()) return numbered_class_names(classes);
  CONVOY_CHECK(static_cast<int64_t>(names.size()) == classes, ConfigError, source, ": ", names.size(),
               " class names, the checkpoint's model has ", classes, " classes");
  return names;
}

// How files are prepared: as the import stored them, then as the loader reads and normalises them.
struct FilePreparation {
  AspectMode aspect = AspectMode::stretch;
  ResizeFilter filter = ResizeFilter::bilinear;
  Normalization normalization;
};

// The checkpoint's preparation (Note [Preprocessing record]), with the options given on top.
FilePreparation file_preparation(const PredictOptions& o, const PreprocessingRecord& record) {
  FilePreparation p;
  const std::string filter = !o.filter.empty() ? o.filter : record.resize_filter;
  p.filter = filter == "area" ? ResizeFilter::area : ResizeFilter::bilinear;
  p.aspect = record.aspect == "crop"  ? AspectMode::crop
             : record.aspect == "pad" ? AspectMode::pad
                                      : AspectMode::stretch;
  if (o.crop) p.aspect = AspectMode::crop;
  if (o.pad) p.aspect = AspectMode::pad;
  p.normalization = record.normalization;
  return p;
}

// Decodes and prepares files [begin, end) into `input` [n, C, H, W] as the loader reads a
// dataset (uint8 x 1/255, then normalised). A file that fails leaves its message in errors[i - begin].
void load_batch(const std::vector<std::string>& files, int64_t begin, int64_t end, const Shape& sample,
                const FilePreparation& prep, int threads, float* input, std::vector<std::string>& errors) {
  const int64_t c = sample[0], h = sample[1], w = sample[2];
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t i = begin; i < end; ++i) {
    errors[i - begin].clear();
    try {
      const Image image = prepare_image(read_image_file(files[i]), h, w, c, prep.aspect, prep.filter);
      float* out = input + (i - begin) * c * h * w;
      constexpr float kScale = 1.0f / 255.0f;  // as Hdf5Dataset::read scales bytes, to the bit
      for (int64_t k = 0; k < c; ++k)
        for (int64_t p = 0; p < h * w; ++p) out[k * h * w + p] = static_cast<float>(image.pixels[p * c + k]) * kScale;
      prep.normalization.apply(out, 1, c, h * w);
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
  const std::vector<std::string> files = expand_inputs(o.inputs);
  const int threads = o.threads > 0 ? o.threads : default_threads();
  const TrainingState state = read_checkpoint(o.checkpoint);
  const std::unique_ptr<Model> model = model_from_checkpoint(state, o.checkpoint, o.batch, threads);
  const Shape& sample = model->spec().input;
  CONVOY_CHECK(sample.rank() == 3 && (sample[0] == 1 || sample[0] == 3), ConfigError, "checkpoint '", o.checkpoint,
               "': expected a model of 1 or 3 input channels [C, H, W], found input ", sample.str());
  const PreprocessingRecord record = PreprocessingRecord::parse(state.preprocessing_json, o.checkpoint);
  const std::vector<std::string> names = class_names_for(o, record, model->spec().classes);
  const FilePreparation prep = file_preparation(o, record);
  if (prep.normalization.active()) prep.normalization.validate(sample[0], "checkpoint '" + o.checkpoint + "'");

  PassContext ctx;
  ctx.threads = threads;
  ctx.training = false;
  const int64_t sample_numel = sample.numel();
  std::vector<float> input(static_cast<size_t>(o.batch * sample_numel));
  std::vector<std::string> errors(static_cast<size_t>(o.batch));
  int64_t bad = 0;
  for (int64_t begin = 0; begin < static_cast<int64_t>(files.size()); begin += o.batch) {
    const int64_t end = std::min<int64_t>(static_cast<int64_t>(files.size()), begin + o.batch);
    load_batch(files, begin, end, sample, prep, threads, input.data(), errors);
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
  cmd->add_option("--top-k", o->top_k, "Classes printed per file, most probable first")
      ->capture_default_str()
      ->check(integer_in(1, kMaxClasses));
  cmd->add_flag("--json", o->json, "One JSON object per file: {\"file\", \"top\": [{\"class\", \"label\", \"probability\"}]}");
  auto* names = cmd->add_option("--class-names", o->class_names, "Comma-separated class names in label order");
  cmd->add_option("--data", o->data,
                  "Take the class names from this dataset (HDF5, e.g. the training set) instead of the checkpoint")
      ->excludes(names);
  auto* crop = cmd->add_flag("--crop-to-aspect", o->crop,
                             "Centre-crop to the model's aspect ratio (default: as the training set's import did)");
  cmd->add_flag("--pad-to-aspect", o->pad,
                "Pad to the model's aspect ratio (default: as the training set's import did)")
      ->excludes(crop);
  cmd->add_option("--resize-filter", o->filter,
                  "area or bilinear (default: the training set's import filter, else bilinear)")
      ->check(one_of({"area", "bilinear"}));
  cmd->add_option("--batch", o->batch, "Images per forward pass")
      ->capture_default_str()
      ->check(integer_in(1, kMaxBatch));
  cmd->add_option("--threads", o->threads, "OpenMP threads (default: the cores available)")
      ->check(integer_in(1, kMaxThreads));
  cmd->callback([o, &exit_code] { exit_code = run_predict(*o); });
}

}  // namespace convoy
