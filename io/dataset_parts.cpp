#include "io/dataset_parts.hpp"

#include <algorithm>
#include <utility>

#include "core/error.hpp"
#include "core/hash.hpp"

namespace convoy {
namespace {

std::string names_text(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

}  // namespace

DatasetParts::DatasetParts(Hdf5Dataset single)
    : DatasetParts([&] {
        std::vector<Hdf5Dataset> parts;
        parts.push_back(std::move(single));
        return parts;
      }()) {}

DatasetParts::DatasetParts(std::vector<Hdf5Dataset> parts) : parts_(std::move(parts)) {
  const DatasetInfo& first = parts_.front().info();
  info_ = first;
  offsets_ = {0};
  if (parts_.size() > 1) {
    info_.content_hash = kFnvOffset;
    info_.size = 0;
  }
  for (const Hdf5Dataset& part : parts_) {
    const DatasetInfo& p = part.info();
    CONVOY_CHECK(p.sample == first.sample, ShapeError, "dataset parts: '", part.path(), "' holds samples ",
                 p.sample.str(), ", '", parts_.front().path(), "' holds ", first.sample.str());
    CONVOY_CHECK(p.class_names == first.class_names, ConfigError, "dataset parts: '", part.path(),
                 "' has class_names ", names_text(p.class_names), ", '", parts_.front().path(), "' has ",
                 names_text(first.class_names));
    offsets_.push_back(offsets_.back() + p.size);
    info_.classes = std::max(info_.classes, p.classes);
    if (parts_.size() > 1) {
      const std::vector<int32_t>& labels = part.labels();
      info_.content_hash = fnv1a(labels.data(), labels.size() * sizeof(int32_t), info_.content_hash);
    }
  }
  info_.size = offsets_.back();
}

DatasetParts DatasetParts::open(const std::vector<std::string>& paths, const Hdf5OpenOptions& options) {
  CONVOY_ASSERT(!paths.empty(), "DatasetParts::open: no file");
  std::vector<Hdf5Dataset> parts;
  for (const std::string& path : paths) parts.push_back(Hdf5Dataset::open(path, options));
  return DatasetParts(std::move(parts));
}

std::string DatasetParts::describe() const {
  const std::string first = "'" + parts_.front().path() + "'";
  if (parts_.size() == 1) return first;
  return first + " and " + std::to_string(parts_.size() - 1) + (parts_.size() == 2 ? " more file" : " more files");
}

Normalization DatasetParts::statistics() const {
  std::vector<int64_t> counts;
  std::vector<Normalization> stats;
  for (const Hdf5Dataset& part : parts_) {
    const ImageAttributes& a = part.image_attributes();
    if (a.mean.empty() || a.std.empty() || a.mean.size() != a.std.size()) return {};
    if (!stats.empty() && a.mean.size() != stats.front().mean.size()) return {};
    counts.push_back(part.info().size);
    stats.push_back({a.mean, a.std});
  }
  if (stats.size() == 1) return stats.front();
  return combine_statistics(counts, stats);
}

void DatasetParts::read(std::span<const int64_t> indices, float* images_nchw, int32_t* labels) {
  if (parts_.size() == 1) {
    parts_.front().read(indices, images_nchw, labels);
    return;
  }
  const int64_t numel = info_.sample.numel();
  for (const int64_t index : indices)
    CONVOY_CHECK(index >= 0 && index < info_.size, ConfigError, "dataset ", describe(), ": sample index ", index,
                 " is outside [0, ", info_.size, ")");
  for (size_t k = 0; k < parts_.size(); ++k) {
    local_.clear();
    position_.clear();
    for (size_t i = 0; i < indices.size(); ++i) {
      if (indices[i] < offsets_[k] || indices[i] >= offsets_[k + 1]) continue;
      local_.push_back(indices[i] - offsets_[k]);
      position_.push_back(static_cast<int64_t>(i));
    }
    if (local_.empty()) continue;
    images_.resize(std::max(images_.size(), local_.size() * static_cast<size_t>(numel)));
    labels_.resize(std::max(labels_.size(), local_.size()));
    parts_[k].read(local_, images_.data(), labels_.data());
    for (size_t j = 0; j < local_.size(); ++j) {
      std::copy_n(images_.data() + j * numel, numel, images_nchw + position_[j] * numel);
      labels[position_[j]] = labels_[j];
    }
  }
}

int64_t DatasetParts::samples_read() const {
  int64_t total = 0;
  for (const Hdf5Dataset& part : parts_) total += part.samples_read();
  return total;
}

}  // namespace convoy
