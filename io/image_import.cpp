#include "io/image_import.hpp"

#include <cmath>
#include <filesystem>
#include <memory>

#include "core/error.hpp"
#include "io/hdf5_dataset_writer.hpp"
#include "io/channel_statistics.hpp"
#include "io/hdf5_dataset.hpp"

namespace convoy {
namespace {

// One output file being written: its writer, the block's images bound for it, and its statistics.
struct Output {
  std::string path;
  std::unique_ptr<Hdf5DatasetWriter> writer;
  std::vector<uint8_t> staged;
  std::vector<int32_t> staged_labels;
  ChannelStatistics stats;
  int64_t written = 0;

  Output(std::string p, int64_t n, const ImageImportOptions& o, const std::vector<std::string>& class_names)
      : path(std::move(p)), stats(o.channels) {
    if (n > 0)
      writer = std::make_unique<Hdf5DatasetWriter>(path, std::array<int64_t, 4>{n, o.height, o.width, o.channels},
                                                   class_names);
  }
  void stage(const uint8_t* image, int64_t bytes, int32_t label) {
    staged.insert(staged.end(), image, image + bytes);
    staged_labels.push_back(label);
  }
  void flush(int64_t pixels_per_image) {
    const auto count = static_cast<int64_t>(staged_labels.size());
    if (count == 0) return;
    stats.add(staged.data(), count * pixels_per_image);
    writer->append(count, staged.data(), staged_labels.data());
    written += count;
    staged.clear();
    staged_labels.clear();
  }
  // Shrinks to what was written (bad files skipped) and stores the statistics and how images were
  // fitted and resized (what convoy predict repeats); ready to commit.
  void finish(const ImageImportOptions& o) {
    CONVOY_CHECK(written > 0, IoError, "image import to '", path, "': every file for it was bad, no image left");
    writer->shrink(written);
    writer->set_images_attribute("mean", stats.mean());
    writer->set_images_attribute("std", stats.stddev());
    writer->set_images_text_attribute("resize_filter", resize_filter_name(o.filter));
    writer->set_images_text_attribute("aspect", aspect_mode_name(o.aspect));
  }
};

// Decodes and prepares files [begin, end) into `pixels` (one image_bytes slot per file) on
// `threads` threads; a failed file leaves its message in `errors` instead.
void decode_block(const ImageFolder& folder, int64_t begin, int64_t end, const ImageImportOptions& o,
                  std::vector<uint8_t>& pixels, std::vector<std::string>& errors) {
  const int64_t image_bytes = o.height * o.width * o.channels;
  // Files differ in size by orders of magnitude: dynamic scheduling. The output does not depend
  // on which thread decoded which file.
#pragma omp parallel for schedule(dynamic, 1) num_threads(o.threads)
  for (int64_t i = begin; i < end; ++i) {
    errors[i - begin].clear();
    try {
      const Image image = prepare_image(read_image_file(folder.files[i], o.limits), o.height, o.width, o.channels,
                                        o.aspect, o.filter);
      std::copy(image.pixels.begin(), image.pixels.end(), pixels.begin() + (i - begin) * image_bytes);
    } catch (const std::exception& e) {
      errors[i - begin] = e.what();
      if (errors[i - begin].empty()) errors[i - begin] = "image '" + folder.files[i] + "': unknown error";
    }
  }
}

void check_options(const ImageFolder& folder, const ImageImportOptions& o) {
  CONVOY_CHECK(o.height > 0 && o.width > 0, ConfigError, "image import: expected a positive size, found ", o.height,
               "x", o.width);
  CONVOY_CHECK(o.channels == 1 || o.channels == 3, ConfigError, "image import: expected 1 or 3 channels, found ",
               o.channels);
  CONVOY_CHECK(o.val_split == 0.0 || !o.val_output.empty(), ConfigError,
               "image import: a validation split needs a validation output file");
  CONVOY_CHECK(o.val_split == 0.0 || o.val_output != o.output, ConfigError, "image import: the validation output '",
               o.val_output, "' is the training output");
  CONVOY_CHECK(o.threads >= 1 && o.block >= 1, ConfigError, "image import: expected threads and block >= 1, found ",
               o.threads, " and ", o.block);
  CONVOY_CHECK(!folder.files.empty(), IoError, "image folder '", folder.root, "': expected image files (",
               ".png, .jpg, .jpeg, .bmp, .gif) in its class folders, found none");
}

std::string bad_file_list(const std::vector<std::string>& bad, int64_t total) {
  std::string message = detail::concat("image folder: ", bad.size(), " of ", total,
                                       " files could not be imported, nothing was written:");
  for (const std::string& b : bad) message += "\n  " + b;
  return message;
}

}  // namespace

Image prepare_image(const Image& decoded, int64_t height, int64_t width, int64_t channels, AspectMode aspect,
                    ResizeFilter filter) {
  const Image fitted = fit_aspect(convert_channels(decoded, channels), height, width, aspect);
  if (fitted.height == height && fitted.width == width) return fitted;
  return resize_image(fitted, height, width, filter);
}

ImageImportReport import_image_folder(const ImageFolder& folder, const ImageImportOptions& o) {
  check_options(folder, o);
  const auto total = static_cast<int64_t>(folder.files.size());
  const std::vector<bool> is_val = validation_split(total, o.val_split, o.seed);
  const auto val_count = static_cast<int64_t>(std::count(is_val.begin(), is_val.end(), true));
  CONVOY_CHECK(total - val_count > 0, ConfigError, "image import: the validation split leaves no training file");
  CONVOY_CHECK(o.val_split == 0.0 || val_count > 0, ConfigError, "image import: a validation split of ", o.val_split,
               " of ", total, " files selects none");
  Output train(o.output, total - val_count, o, folder.class_names);
  Output val(o.val_output, val_count, o, folder.class_names);

  const int64_t image_bytes = o.height * o.width * o.channels;
  const int64_t block = std::min(o.block, total);
  std::vector<uint8_t> pixels(static_cast<size_t>(block * image_bytes));
  std::vector<std::string> errors(static_cast<size_t>(block));
  ImageImportReport report;
  for (int64_t begin = 0; begin < total; begin += block) {
    const int64_t end = std::min(total, begin + block);
    decode_block(folder, begin, end, o, pixels, errors);
    for (int64_t i = begin; i < end; ++i) {
      if (!errors[i - begin].empty()) {
        report.bad.push_back(errors[i - begin]);
        continue;
      }
      if (report.bad.empty() || o.skip_bad)  // once a file failed without skip_bad, only the list matters
        (is_val[i] ? val : train).stage(pixels.data() + (i - begin) * image_bytes, image_bytes, folder.labels[i]);
    }
    train.flush(o.height * o.width);
    if (val.writer) val.flush(o.height * o.width);
    if (o.progress) o.progress(end, total);
  }
  CONVOY_CHECK(report.bad.empty() || o.skip_bad, IoError, bad_file_list(report.bad, total));

  train.finish(o);
  if (val.writer) {
    val.finish(o);
    val.writer->commit();
    try {
      train.writer->commit();
    } catch (...) {
      std::error_code ignored;
      std::filesystem::remove(val.path, ignored);
      throw;
    }
  } else {
    train.writer->commit();
  }
  report.train = train.written;
  report.validation = val.written;
  report.mean = train.stats.mean();
  report.std = train.stats.stddev();
  return report;
}

}  // namespace convoy
