#include "io/idx_convert.hpp"

#include <algorithm>
#include <exception>

#include "core/error.hpp"
#include "io/channel_statistics.hpp"
#include "io/idx_reader.hpp"

namespace convoy {
namespace {

// The mean and std attributes an import stores (Note [Normalisation]).
void write_statistics(Hdf5DatasetWriter& writer, const ChannelStatistics& stats) {
  writer.set_images_attribute("mean", stats.mean());
  writer.set_images_attribute("std", stats.stddev());
}

// Resizes and appends a block of samples at a time, so memory stays at one block of output.
void write_resized(const IdxArray& images, const std::vector<int32_t>& labels, const std::string& out_h5,
                   const std::vector<std::string>& class_names, const Hdf5WriteOptions& options,
                   const ResizeTarget& resize) {
  const int64_t n = images.dims[0], in_h = images.dims[1], in_w = images.dims[2];
  const int64_t out_h = resize.height, out_w = resize.width;
  Hdf5DatasetWriter writer(out_h5, {n, out_h, out_w, 1}, class_names, options);
  ChannelStatistics stats(1);
  constexpr int64_t kBlock = 1024;
  std::vector<uint8_t> block(static_cast<size_t>(std::min(n, kBlock) * out_h * out_w));
  for (int64_t begin = 0; begin < n; begin += kBlock) {
    const int64_t count = std::min(kBlock, n - begin);
    std::exception_ptr error;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      try {
        const uint8_t* src = images.data.data() + (begin + i) * in_h * in_w;
        const Image out = resize_image(Image{in_h, in_w, 1, std::vector<uint8_t>(src, src + in_h * in_w)}, out_h,
                                       out_w, resize.filter);
        std::copy(out.pixels.begin(), out.pixels.end(), block.begin() + i * out_h * out_w);
      } catch (...) {
#pragma omp critical(convoy_idx_resize)
        error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    stats.add(block.data(), count * out_h * out_w);
    writer.append(count, block.data(), labels.data() + begin);
  }
  write_statistics(writer, stats);
  writer.set_images_text_attribute("resize_filter", resize_filter_name(resize.filter));
  writer.set_images_text_attribute("aspect", aspect_mode_name(AspectMode::stretch));
  writer.commit();
}

}  // namespace

void convert_idx_to_hdf5(const std::string& images_idx, const std::string& labels_idx, const std::string& out_h5,
                         std::vector<std::string> class_names, const Hdf5WriteOptions& options,
                         const ResizeTarget& resize) {
  const IdxArray images = read_idx_images(images_idx);
  const IdxArray labels = read_idx_labels(labels_idx);
  CONVOY_CHECK(images.dims[0] == labels.dims[0], IoError, "IDX files '", images_idx, "' and '", labels_idx,
               "': expected as many labels as images, found ", images.dims[0], " images and ", labels.dims[0],
               " labels");
  const auto classes = static_cast<int64_t>(class_names.size());
  std::vector<int32_t> wide(labels.data.begin(), labels.data.end());
  for (size_t i = 0; i < wide.size(); ++i) {
    CONVOY_CHECK(classes == 0 || wide[i] < classes, ConfigError, "IDX file '", labels_idx, "': label ", i, " is ",
                 wide[i], " but only ", classes, " class names were given (expected labels in [0, ", classes, "))");
  }
  if (!resize.active()) {
    Hdf5DatasetWriter writer(out_h5, {images.dims[0], images.dims[1], images.dims[2], 1}, class_names, options);
    writer.append(images.dims[0], images.data.data(), wide.data());
    ChannelStatistics stats(1);
    stats.add(images.data.data(), images.dims[0] * images.dims[1] * images.dims[2]);
    write_statistics(writer, stats);
    writer.commit();
    return;
  }
  write_resized(images, wide, out_h5, class_names, options, resize);
}

}  // namespace convoy
