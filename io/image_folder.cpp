#include "io/image_folder.hpp"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace convoy {
namespace fs = std::filesystem;
namespace {

bool has_image_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif";
}

std::vector<std::string> files_below(const fs::path& folder) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(folder, fs::directory_options::none, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && has_image_extension(it->path())) files.push_back(it->path().string());
  }
  CONVOY_CHECK(!ec, IoError, "image folder '", folder.string(), "': cannot list it: ", ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

ImageFolder list_image_folder(const std::string& root) {
  std::error_code ec;
  CONVOY_CHECK(fs::is_directory(root, ec), IoError, "image folder '", root, "': expected a folder, found ",
               fs::exists(root, ec) ? "something else" : "nothing");
  ImageFolder folder;
  folder.root = root;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory()) folder.class_names.push_back(it->path().filename().string());
  CONVOY_CHECK(!ec, IoError, "image folder '", root, "': cannot list it: ", ec.message());
  CONVOY_CHECK(!folder.class_names.empty(), IoError, "image folder '", root,
               "': expected one sub-folder per class, found none");
  std::sort(folder.class_names.begin(), folder.class_names.end());
  for (size_t c = 0; c < folder.class_names.size(); ++c) {
    for (std::string& file : files_below(fs::path(root) / folder.class_names[c])) {
      folder.files.push_back(std::move(file));
      folder.labels.push_back(static_cast<int32_t>(c));
    }
  }
  return folder;
}

std::vector<std::string> image_files_below(const std::string& folder) { return files_below(folder); }

std::vector<bool> validation_split(int64_t files, double fraction, uint64_t seed) {
  CONVOY_CHECK(fraction >= 0.0 && fraction < 1.0, ConfigError, "validation split: expected a fraction in [0, 1), found ",
               fraction);
  const auto count = static_cast<int64_t>(fraction * static_cast<double>(files));
  std::vector<uint64_t> keys(static_cast<size_t>(files));
  for (int64_t i = 0; i < files; ++i) keys[i] = random_bits(seed, RandomPurpose::split, 0, static_cast<uint64_t>(i));
  std::vector<int64_t> order(static_cast<size_t>(files));
  std::iota(order.begin(), order.end(), 0);
  // Ties (equal keys) are broken by index, so the result is a function of (seed, files) alone.
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return keys[a] != keys[b] ? keys[a] < keys[b] : a < b; });
  std::vector<bool> validation(static_cast<size_t>(files), false);
  for (int64_t k = 0; k < count; ++k) validation[order[k]] = true;
  return validation;
}

}  // namespace convoy
