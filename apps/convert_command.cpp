// convoy convert: datasets from other formats into Convoy's HDF5 layout.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/cli_checks.hpp"
#include "apps/commands.hpp"
#include "apps/exit_codes.hpp"
#include "apps/image_size_option.hpp"
#include "core/error.hpp"
#include "io/class_names.hpp"
#include "io/hdf5_dataset.hpp"
#include "io/idx_convert.hpp"

namespace convoy {
namespace {

struct ConvertIdxOptions {
  std::string images, labels, output, class_names = "auto", size, filter = "bilinear";
};

// "auto": Fashion-MNIST's names when the image file's name says fashion, else none (train then
// needs --classes);
// "fashion-mnist", "none" or a comma-separated list.
std::vector<std::string> parse_class_names(const ConvertIdxOptions& o) {
  if (o.class_names == "fashion-mnist" ||
      (o.class_names == "auto" && (o.images.find("fashion") != std::string::npos)))
    return fashion_mnist_class_names();
  if (o.class_names == "auto" || o.class_names == "none") return {};
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= o.class_names.size()) {
    const size_t comma = o.class_names.find(',', start);
    names.push_back(o.class_names.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

int run_convert_idx(const ConvertIdxOptions& o) {
  convert_idx_to_hdf5(o.images, o.labels, o.output, parse_class_names(o), {},
                      parse_resize_target(o.size, o.filter));
  const Hdf5Dataset check = Hdf5Dataset::open(o.output);
  const int64_t classes = check.info().classes;
  std::printf("wrote %s: %lld samples %s, %s\n", o.output.c_str(), static_cast<long long>(check.info().size),
              check.info().sample.str().c_str(),
              classes > 0 ? (std::to_string(classes) + " classes").c_str()
                          : "no class names (train it with --classes N)");
  return kExitOk;
}

}  // namespace

void add_convert_command(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("convert", "Convert a dataset to Convoy's HDF5 layout");
  cmd->require_subcommand(1);
  auto idx = std::make_shared<ConvertIdxOptions>();
  CLI::App* sub = cmd->add_subcommand("idx", "From MNIST-style IDX files (raw or .gz)");
  sub->add_option("--images", idx->images, "IDX image file ([N, H, W] uint8)")->required();
  sub->add_option("--labels", idx->labels, "IDX label file ([N] uint8)")->required();
  sub->add_option("-o,--output", idx->output, "HDF5 file to write")->required();
  sub->add_option("--class-names", idx->class_names,
                  "auto, fashion-mnist, none, or a comma-separated list in label order")
      ->capture_default_str();
  sub->add_option("--size", idx->size, "Resize every image to HxW, e.g. 64x64 (default: keep)")->check(image_size());
  sub->add_option("--resize-filter", idx->filter, "area (block means, for shrinking) or bilinear (antialiased)")
      ->capture_default_str()
      ->check(one_of({"area", "bilinear"}));
  sub->callback([idx, &exit_code] { exit_code = run_convert_idx(*idx); });
  add_convert_images_subcommand(*cmd, exit_code);
}

}  // namespace convoy
