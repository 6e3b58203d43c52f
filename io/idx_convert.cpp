#include "io/idx_convert.hpp"

#include "core/error.hpp"
#include "io/idx_reader.hpp"

namespace convoy {

void convert_idx_to_hdf5(const std::string& images_idx, const std::string& labels_idx, const std::string& out_h5,
                         std::vector<std::string> class_names, const Hdf5WriteOptions& options) {
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
  write_hdf5_dataset(out_h5, {images.dims[0], images.dims[1], images.dims[2], 1}, images.data.data(), wide.data(),
                     class_names, options);
}

}  // namespace convoy
