// convoy convert images: a folder of images, one sub-folder per class, into Convoy's HDF5 layout.
#include "apps/commands.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "apps/cli_checks.hpp"
#include "apps/exit_codes.hpp"
#include "apps/image_size_option.hpp"
#include "apps/preprocessing_record.hpp"
#include "apps/runtime_info.hpp"
#include "apps/train_options.hpp"
#include "core/error.hpp"
#include "io/image_import.hpp"

namespace convoy {
namespace {

struct ConvertImagesOptions {
  std::string folder, output, val_output, size, color = "rgb", filter = "bilinear";
  bool crop = false, pad = false, skip_bad = false;
  double val_split = 0.0;
  uint64_t seed = 0;
  int threads = 0;
};

int run_convert_images(const ConvertImagesOptions& o) {
  const ResizeTarget size = parse_resize_target(o.size, o.filter);  // both checked while parsing
  const ImageFolder folder = list_image_folder(o.folder);
  std::printf("Found %zu files belonging to %zu classes.\n", folder.files.size(), folder.class_names.size());
  std::fflush(stdout);

  ImageImportOptions options;
  options.output = o.output;
  options.val_output = o.val_output;
  options.val_split = o.val_split;
  options.seed = o.seed;
  options.height = size.height;
  options.width = size.width;
  options.filter = size.filter;
  options.channels = o.color == "rgb" ? 3 : 1;
  options.aspect = o.crop ? AspectMode::crop : o.pad ? AspectMode::pad : AspectMode::stretch;
  options.skip_bad = o.skip_bad;
  options.threads = o.threads > 0 ? o.threads : default_threads();
  options.block = 64 * options.threads;
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  const bool terminal = stdout_is_terminal();
  // On a terminal one line rewritten after every block; in a log a line per tenth of the files.
  int64_t next_line = 0;
  options.progress = [&](int64_t done, int64_t total) {
    if (!terminal && done < next_line) return;
    next_line = done + std::max<int64_t>(total / 10, 1);
    std::printf("%simporting: %lld/%lld files, %.0f images/s%s", terminal ? "\r" : "", static_cast<long long>(done),
                static_cast<long long>(total), done / std::max(seconds(), 1e-9), terminal ? "" : "\n");
    std::fflush(stdout);
  };
  const ImageImportReport r = import_image_folder(folder, options);
  if (terminal) std::printf("\n");
  for (const std::string& bad : r.bad) std::fprintf(stderr, "convoy: skipped %s\n", bad.c_str());
  std::printf("wrote %s: %lld images [%lld, %lld, %lld], %zu classes, mean %s std %s\n", o.output.c_str(),
              static_cast<long long>(r.train), static_cast<long long>(size.height),
              static_cast<long long>(size.width), static_cast<long long>(options.channels), folder.class_names.size(),
              channel_list(r.mean).c_str(), channel_list(r.std).c_str());
  if (r.validation > 0)
    std::printf("wrote %s: %lld images\n", o.val_output.c_str(), static_cast<long long>(r.validation));
  std::printf("imported %zu files in %.2f s (%.0f images/s, %d threads), %zu skipped\n", folder.files.size(),
              seconds(), folder.files.size() / std::max(seconds(), 1e-9), options.threads, r.bad.size());
  return kExitOk;
}

}  // namespace

void add_convert_images_subcommand(CLI::App& convert, int& exit_code) {
  auto o = std::make_shared<ConvertImagesOptions>();
  CLI::App* sub = convert.add_subcommand(
      "images", "From a folder with one sub-folder of images per class (PNG, JPEG, BMP, GIF), as Keras's "
                "image_dataset_from_directory");
  sub->add_option("folder", o->folder, "Folder holding one sub-folder per class")->required();
  sub->add_option("-o,--output", o->output, "HDF5 file to write (the training images)")->required();
  sub->add_option("--size", o->size, "Height and width of every stored image, e.g. 64x64")
      ->required()
      ->check(image_size());
  sub->add_option("--color", o->color, "rgb or grayscale")->capture_default_str()->check(one_of({"rgb", "grayscale"}));
  auto* crop = sub->add_flag("--crop-to-aspect", o->crop, "Centre-crop to the aspect ratio of --size before resizing");
  auto* pad = sub->add_flag("--pad-to-aspect", o->pad, "Pad with black to the aspect ratio of --size before resizing");
  crop->excludes(pad);
  sub->add_option("--resize-filter", o->filter, "area (block means, for shrinking) or bilinear (antialiased)")
      ->capture_default_str()
      ->check(one_of({"area", "bilinear"}));
  auto* split = sub->add_option("--val-split", o->val_split, "Fraction of the files for validation, in [0, 1)")
                    ->check(number_in(0, true, 1, false));
  auto* val = sub->add_option("--val-output", o->val_output, "HDF5 file for the validation images");
  split->needs(val);
  val->needs(split);
  sub->add_option("--seed", o->seed, "Seed of the validation split")->capture_default_str()->check(unsigned_integer());
  sub->add_flag("--skip-bad", o->skip_bad,
                "Leave out files that cannot be decoded (listed at the end) instead of failing without writing");
  sub->add_option("--threads", o->threads, "Decoding threads (default: the cores available)")
      ->check(integer_in(1, kMaxThreads));
  sub->callback([o, &exit_code] { exit_code = run_convert_images(*o); });
}

}  // namespace convoy
