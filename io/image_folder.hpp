// A folder of images with one sub-folder per class: listing, labels and the train/validation split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convoy {

// Note [Image folder layout]
// As Keras's image_dataset_from_directory: the classes are the sub-folders of the root, sorted
// by name (byte order), labelled 0..C-1. Each class takes every file below its folder, at any
// depth, whose extension is .png, .jpg, .jpeg, .bmp or .gif (any case), sorted by path; other
// files (README, .DS_Store) and files directly in the root are not part of the dataset. Links to
// folders below a class folder are not followed (Keras's default; a link cycle cannot loop).
struct ImageFolder {
  std::string root;
  std::vector<std::string> class_names;
  std::vector<std::string> files;  // full paths, class by class
  std::vector<int32_t> labels;     // one per file
};

// IoError naming the root if it is not a readable folder or holds no class folder.
ImageFolder list_image_folder(const std::string& root);

// The image files (by extension, as above) anywhere below `folder`, sorted by path.
std::vector<std::string> image_files_below(const std::string& folder);

// Which files go to validation: round-down(fraction * N) of them, chosen by a counter-based
// draw per file (Note [Counter-based randomness]), so the split depends only on the seed and
// the listing. fraction in [0, 1) (ConfigError otherwise); returns one flag per file.
std::vector<bool> validation_split(int64_t files, double fraction, uint64_t seed);

}  // namespace convoy
