#include "io/hdf5_dataset.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <type_traits>
#include <utility>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "io/file_identity.hpp"
#include "io/hdf5_attributes.hpp"
#include "io/hdf5_handle.hpp"
#include "io/regular_file.hpp"

namespace convoy {

using h5::check;
using h5::checked;
using h5::Handle;

namespace {

std::string dims_str(const hsize_t* dims, int rank) {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// "uint8", "int64", "float64", "string", ... for error messages.
std::string type_str(hid_t type) {
  const size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT: return "float" + std::to_string(bits);
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    default: return "an unsupported type";
  }
}

bool has_link(hid_t file, const char* name, const std::string& path) {
  return check(H5Lexists(file, name, H5P_DEFAULT), path, "H5Lexists") > 0;
}

// The smallest prime >= n: HDF5 wants a prime number of chunk-cache hash slots.
size_t prime_at_least(size_t n) {
  for (;; ++n) {
    bool prime = n >= 2;
    for (size_t d = 2; d * d <= n && prime; ++d) prime = n % d != 0;
    if (prime) return n;
  }
}

std::vector<std::string> read_class_names(hid_t labels, const std::string& path) {
  if (check(H5Aexists(labels, "class_names"), path, "H5Aexists /labels class_names") == 0) return {};
  const char* what = "reading attribute class_names of /labels";
  Handle attr = checked(H5Aopen(labels, "class_names", H5P_DEFAULT), H5Aclose, path, what);
  Handle type = checked(H5Aget_type(attr.get()), H5Tclose, path, what);
  CONVOY_CHECK(H5Tget_class(type.get()) == H5T_STRING, IoError, "HDF5 dataset '", path,
               "': attribute class_names of /labels: expected strings, found ", type_str(type.get()));
  Handle space = checked(H5Aget_space(attr.get()), H5Sclose, path, what);
  const int rank = check(H5Sget_simple_extent_ndims(space.get()), path, what);
  CONVOY_CHECK(rank <= 1, ShapeError, "HDF5 dataset '", path,
               "': attribute class_names of /labels: expected rank 1, found rank ", rank);
  const auto count = static_cast<size_t>(check(H5Sget_simple_extent_npoints(space.get()), path, what));
  std::vector<std::string> names;
  names.reserve(count);
  Handle mem = checked(H5Tcopy(H5T_C_S1), H5Tclose, path, what);
  check(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), path, what);
  if (check(H5Tis_variable_str(type.get()), path, what) > 0) {
    check(H5Tset_size(mem.get(), H5T_VARIABLE), path, what);
    std::vector<char*> strings(count, nullptr);
    check(H5Aread(attr.get(), mem.get(), strings.data()), path, what);
    for (const char* s : strings) names.emplace_back(s != nullptr ? s : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, strings.data());
  } else {
    // Fixed-length strings (numpy 'S' arrays): padded with NULs or spaces, which we strip.
    const size_t size = H5Tget_size(type.get());
    check(H5Tset_size(mem.get(), size), path, what);
    check(H5Tset_strpad(mem.get(), H5T_STR_NULLPAD), path, what);
    std::vector<char> buffer(count * size);
    check(H5Aread(attr.get(), mem.get(), buffer.data()), path, what);
    for (size_t i = 0; i < count; ++i) {
      std::string s(buffer.data() + i * size, strnlen(buffer.data() + i * size, size));
      s.erase(s.find_last_not_of(' ') + 1);
      names.push_back(std::move(s));
    }
  }
  return names;
}

// Refuses a dataset whose declared extent the file does not hold: a chunked one must have every
// chunk written, a contiguous or compact one its whole size. Unwritten parts would read as the
// fill value (a header of a few bytes can declare 10^9 samples of zeros), and sizing buffers by
// a declared count the file cannot back ends in an allocation of gigabytes.
void check_stored(hid_t dataset, const hsize_t* dims, int rank, size_t element_bytes, const std::string& path,
                  const char* name) {
  const std::string declared = dims_str(dims, rank);
  Handle dcpl = checked(H5Dget_create_plist(dataset), H5Pclose, path, "H5Dget_create_plist");
  if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
    hsize_t chunk[H5S_MAX_RANK] = {};
    check(H5Pget_chunk(dcpl.get(), rank, chunk), path, "H5Pget_chunk");
    // Chunks wider than a sample: no writer makes them, and libhdf5 1.10 reads such a filtered
    // chunk past the end of its decompressed bytes (found by hdf5_dataset_fuzz). Along N a chunk
    // may be longer than the dataset (a resizable dataset written short).
    for (int i = 0; i < rank; ++i)
      CONVOY_CHECK(chunk[i] >= 1 && (i == 0 || chunk[i] <= dims[i]), IoError, "HDF5 dataset '", path, "': ", name,
                   " ", declared, " is stored in chunks of ", dims_str(chunk, rank),
                   ", beyond its samples' extent (a damaged file?)");
    hsize_t expected = 1;
    for (int i = 0; i < rank; ++i)
      if (__builtin_mul_overflow(expected, (dims[i] + chunk[i] - 1) / std::max<hsize_t>(chunk[i], 1), &expected))
        expected = ~hsize_t{0};
    Handle space = checked(H5Dget_space(dataset), H5Sclose, path, "H5Dget_space");
    hsize_t stored = 0;
    check(H5Dget_num_chunks(dataset, space.get(), &stored), path, "H5Dget_num_chunks");
    CONVOY_CHECK(stored >= expected, IoError, "HDF5 dataset '", path, "': ", name, " declares ", declared,
                 " but the file stores only ", stored, " of its ", expected,
                 " chunks (unwritten data would read as zeros; truncated or never filled?)");
    return;
  }
  hsize_t bytes = element_bytes;
  for (int i = 0; i < rank; ++i)
    if (__builtin_mul_overflow(bytes, dims[i], &bytes)) bytes = ~hsize_t{0};
  const hsize_t stored = H5Dget_storage_size(dataset);
  CONVOY_CHECK(stored >= bytes, IoError, "HDF5 dataset '", path, "': ", name, " declares ", declared, " (", bytes,
               " bytes) but the file stores ", stored, " bytes of it (truncated or never filled?)");
}

Handle open_file(const std::string& path) {
  std::error_code ec;
  CONVOY_CHECK(std::filesystem::exists(path, ec), IoError, "HDF5 dataset '", path, "': file not found");
  require_regular_file(path, "HDF5 dataset");
  CONVOY_CHECK(H5Fis_hdf5(path.c_str()) > 0, IoError, "HDF5 dataset '", path,
               "': not an HDF5 file (no HDF5 signature found)");
  H5Eclear2(H5E_DEFAULT);
  return checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path, "H5Fopen");
}

// What /images holds: [N,H,W,C] or [N,H,W], uint8 or float32.
struct ImagesLayout {
  Handle space;          // the dataspace of /images
  int rank = 4;          // 4 [N,H,W,C] or 3 [N,H,W]
  hsize_t dims[4] = {};  // N, H, W, C (C = 1 for rank 3)
  bool is_float = false;
  hsize_t chunk[4] = {};  // all 0 when /images is not chunked
  bool compressed = false;
};

ImagesLayout images_layout(hid_t file, const std::string& path) {
  CONVOY_CHECK(has_link(file, "images", path), IoError, "HDF5 dataset '", path,
               "': expected a dataset /images [N,H,W,C] of uint8 or float32, found none");
  Handle images = checked(H5Dopen2(file, "images", H5P_DEFAULT), H5Dclose, path, "H5Dopen2 /images");
  ImagesLayout layout;
  {
    Handle type = checked(H5Dget_type(images.get()), H5Tclose, path, "H5Dget_type /images");
    const H5T_class_t cls = H5Tget_class(type.get());
    const size_t size = H5Tget_size(type.get());
    const bool u8 = cls == H5T_INTEGER && size == 1 && H5Tget_sign(type.get()) == H5T_SGN_NONE;
    layout.is_float = cls == H5T_FLOAT && size == 4;
    CONVOY_CHECK(u8 || layout.is_float, IoError, "HDF5 dataset '", path,
                 "': /images: expected uint8 or float32 elements, found ", type_str(type.get()));
  }
  layout.space = checked(H5Dget_space(images.get()), H5Sclose, path, "H5Dget_space /images");
  const int rank = check(H5Sget_simple_extent_ndims(layout.space.get()), path, "H5Sget_simple_extent_ndims");
  hsize_t dims[H5S_MAX_RANK] = {};
  if (rank > 0 && rank <= H5S_MAX_RANK) H5Sget_simple_extent_dims(layout.space.get(), dims, nullptr);
  CONVOY_CHECK(rank == 4 || rank == 3, ShapeError, "HDF5 dataset '", path,
               "': /images: expected rank 4 [N,H,W,C] (or 3 [N,H,W]), found rank ", rank, " ",
               dims_str(dims, std::max(rank, 0)));
  layout.rank = rank;
  layout.dims[0] = dims[0];
  layout.dims[1] = dims[1];
  layout.dims[2] = dims[2];
  layout.dims[3] = rank == 4 ? dims[3] : 1;
  CONVOY_CHECK(layout.dims[0] > 0 && layout.dims[1] > 0 && layout.dims[2] > 0 && layout.dims[3] > 0, ShapeError,
               "HDF5 dataset '", path, "': /images: expected every dimension > 0, found ", dims_str(dims, rank));
  check_stored(images.get(), dims, rank, layout.is_float ? 4 : 1, path, "/images");
  Handle dcpl = checked(H5Dget_create_plist(images.get()), H5Pclose, path, "H5Dget_create_plist /images");
  if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
    check(H5Pget_chunk(dcpl.get(), rank, layout.chunk), path, "H5Pget_chunk /images");
    layout.compressed = H5Pget_nfilters(dcpl.get()) > 0;
  }
  return layout;
}

// Opens /images with a chunk cache sized for reads of about batch_hint samples.
// Note: HDF5 pulls a whole chunk (256 KiB here) into the cache whenever the chunk fits in it.
// With shuffled batches most samples come from a chunk not cached, so an uncompressed file
// gets no cache at all: each sample is then one small read of its own bytes, instead of a
// 256 KiB chunk copied for 784 bytes (which took a core's worth of time beside 2 compute
// threads). A compressed file must decompress whole chunks: it gets about a batch worth.
Handle open_images(hid_t file, const ImagesLayout& layout, int64_t batch_hint, const std::string& path) {
  if (layout.chunk[0] == 0) return checked(H5Dopen2(file, "images", H5P_DEFAULT), H5Dclose, path, "H5Dopen2 /images");
  size_t chunk_bytes = layout.is_float ? 4 : 1;
  size_t chunks_total = 1, chunks_per_sample = 1;
  hsize_t dims[H5S_MAX_RANK] = {};
  H5Sget_simple_extent_dims(layout.space.get(), dims, nullptr);
  for (int i = 0; i < layout.rank; ++i) {
    chunk_bytes *= layout.chunk[i];
    const size_t along = (dims[i] + layout.chunk[i] - 1) / layout.chunk[i];
    chunks_total *= along;
    if (i > 0) chunks_per_sample *= along;
  }
  const size_t wanted = static_cast<size_t>(std::max<int64_t>(batch_hint, 1)) * chunks_per_sample;
  const size_t cached = !layout.compressed ? 0
                                           : std::min({wanted, chunks_total,
                                                       (size_t{256} << 20) / std::max<size_t>(chunk_bytes, 1)});
  Handle dapl = checked(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose, path, "H5Pcreate dapl");
  check(H5Pset_chunk_cache(dapl.get(), prime_at_least(std::max<size_t>(cached * 100, 521)), cached * chunk_bytes, 0.75),
        path, "H5Pset_chunk_cache");
  return checked(H5Dopen2(file, "images", dapl.get()), H5Dclose, path, "H5Dopen2 /images");
}

struct FileLabels {
  std::vector<int64_t> values;
  std::vector<std::string> names;  // the class_names attribute, empty if absent
};

// /labels: [n] of any integer type, and its class_names.
FileLabels read_labels(hid_t file, int64_t n, const std::string& path) {
  CONVOY_CHECK(has_link(file, "labels", path), IoError, "HDF5 dataset '", path,
               "': expected a dataset /labels [", n, "] of integers, found none");
  Handle labels = checked(H5Dopen2(file, "labels", H5P_DEFAULT), H5Dclose, path, "H5Dopen2 /labels");
  {
    Handle type = checked(H5Dget_type(labels.get()), H5Tclose, path, "H5Dget_type /labels");
    CONVOY_CHECK(H5Tget_class(type.get()) == H5T_INTEGER, IoError, "HDF5 dataset '", path,
                 "': /labels: expected integer elements, found ", type_str(type.get()));
    // A damaged type can declare any width; libhdf5 1.10 then converts past the end of a filtered
    // chunk's bytes (found by hdf5_dataset_fuzz).
    const size_t width = H5Tget_size(type.get());
    CONVOY_CHECK(width == 1 || width == 2 || width == 4 || width == 8, IoError, "HDF5 dataset '", path,
                 "': /labels: expected integers of 1, 2, 4 or 8 bytes, found ", width, " bytes");
    Handle space = checked(H5Dget_space(labels.get()), H5Sclose, path, "H5Dget_space /labels");
    const int lrank = check(H5Sget_simple_extent_ndims(space.get()), path, "H5Sget_simple_extent_ndims");
    hsize_t ldims[H5S_MAX_RANK] = {};
    if (lrank > 0 && lrank <= H5S_MAX_RANK) H5Sget_simple_extent_dims(space.get(), ldims, nullptr);
    CONVOY_CHECK(lrank == 1, ShapeError, "HDF5 dataset '", path, "': /labels: expected rank 1 [", n,
                 "], found rank ", lrank, " ", dims_str(ldims, std::max(lrank, 0)));
    CONVOY_CHECK(static_cast<int64_t>(ldims[0]) == n, ShapeError, "HDF5 dataset '", path, "': /images has ", n,
                 " samples but /labels has ", ldims[0]);
    check_stored(labels.get(), ldims, 1, H5Tget_size(type.get()), path, "/labels");
  }
  FileLabels result;
  result.values.resize(static_cast<size_t>(n));
  check(H5Dread(labels.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, result.values.data()), path,
        "H5Dread /labels");
  result.names = read_class_names(labels.get(), path);
  return result;
}

// The class count from the caller or class_names; every label checked against it. A file without
// class_names opened without a count has 0 classes (not stated) and only negative labels are
// refused: the largest label is no class count, since the highest classes may have no sample.
int64_t class_count(const FileLabels& labels, int64_t expected_classes, const std::string& path) {
  const std::vector<std::string>& names = labels.names;
  int64_t classes = 0;
  std::string source;
  if (expected_classes > 0) {
    CONVOY_CHECK(names.empty() || static_cast<int64_t>(names.size()) == expected_classes, ConfigError,
                 "HDF5 dataset '", path, "': expected ", expected_classes, " classes, found ", names.size(),
                 " class_names on /labels");
    classes = expected_classes;
    source = "the expected class count";
  } else if (!names.empty()) {
    classes = static_cast<int64_t>(names.size());
    source = "the class_names attribute";
  }
  for (size_t i = 0; i < labels.values.size(); ++i) {
    const int64_t label = labels.values[i];
    if (classes == 0) {
      CONVOY_CHECK(label >= 0, IoError, "HDF5 dataset '", path, "': /labels[", i, "] = ", label, " is negative");
      continue;
    }
    CONVOY_CHECK(label >= 0 && label < classes, IoError, "HDF5 dataset '", path, "': /labels[", i, "] = ", label,
                 " is outside [0, ", classes, ") (", classes, " classes from ", source, ")");
  }
  return classes;
}

}  // namespace

struct Hdf5Dataset::Impl {
  std::string path;
  Handle file;
  Handle images;
  Handle file_space;      // the dataspace of /images, reused for every selection
  Handle mem_space;       // reshaped for every run read
  int rank = 4;           // of /images: 4 [N,H,W,C] or 3 [N,H,W]
  hsize_t dims[4] = {};   // N, H, W, C (C = 1 for rank 3)
  bool is_float = false;  // float32 images, else uint8
  std::vector<int32_t> labels;
  DatasetInfo info;
  ImageAttributes attributes;
  // Scratch reused across reads, so steady-state reads do not allocate.
  std::vector<std::pair<int64_t, int64_t>> order;  // (sample index, position in the request)
  std::vector<uint8_t> scratch_u8;
  std::vector<float> scratch_f32;
  std::atomic<int64_t> samples_read{0};
  FileIdentity identity;  // at open, compared after every read (Note [Dataset file identity])
  bool resident = false;  // Note [Resident images]: all of /images in scratch_u8 or scratch_f32
  int64_t sample_numel() const { return static_cast<int64_t>(dims[1] * dims[2] * dims[3]); }
  int64_t image_bytes() const { return static_cast<int64_t>(dims[0]) * sample_numel() * (is_float ? 4 : 1); }
  void read_whole_images();  // Note [Resident images]
  // Sample k of the scratch (a read's k-th distinct sample, or sample k when resident) as
  // [C, H, W] floats.
  void scratch_sample(int64_t k, float* out) const;
  // The phases of a read from the file: the request sorted into `order`, its runs of
  // consecutive samples read into the scratch (returns how many distinct samples), and those
  // scattered to their requested positions.
  void check_index(int64_t index) const;
  void sort_request(std::span<const int64_t> indices);
  int64_t read_runs();
  void scatter(float* images_nchw, int32_t* out_labels) const;
};

Hdf5Dataset::Hdf5Dataset(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Hdf5Dataset::Hdf5Dataset(Hdf5Dataset&&) noexcept = default;
Hdf5Dataset& Hdf5Dataset::operator=(Hdf5Dataset&&) noexcept = default;
Hdf5Dataset::~Hdf5Dataset() = default;

const DatasetInfo& Hdf5Dataset::info() const { return impl_->info; }
const std::string& Hdf5Dataset::path() const { return impl_->path; }
const std::vector<int32_t>& Hdf5Dataset::labels() const { return impl_->labels; }
const ImageAttributes& Hdf5Dataset::image_attributes() const { return impl_->attributes; }
int64_t Hdf5Dataset::samples_read() const { return impl_->samples_read.load(std::memory_order_relaxed); }
int64_t Hdf5Dataset::image_bytes() const { return impl_->image_bytes(); }
bool Hdf5Dataset::resident() const { return impl_->resident; }

Hdf5Dataset Hdf5Dataset::open(const std::string& path, const Hdf5OpenOptions& options) {
  h5::silence_errors();
  auto d = std::make_unique<Impl>();
  d->path = path;
  d->file = open_file(path);
  d->identity = FileIdentity::of(path, "HDF5 dataset");
  ImagesLayout layout = images_layout(d->file.get(), path);
  d->images = open_images(d->file.get(), layout, options.batch_hint, path);
  d->rank = layout.rank;
  std::copy(layout.dims, layout.dims + 4, d->dims);
  d->is_float = layout.is_float;
  d->file_space = std::move(layout.space);
  const hsize_t one[4] = {1, d->dims[1], d->dims[2], d->dims[3]};
  d->mem_space = checked(H5Screate_simple(d->rank, one, nullptr), H5Sclose, path, "H5Screate_simple");

  const auto n = static_cast<int64_t>(d->dims[0]);
  FileLabels labels = read_labels(d->file.get(), n, path);
  d->info.classes = class_count(labels, options.expected_classes, path);
  d->labels.assign(labels.values.begin(), labels.values.end());
  // Every label, already in memory: another dataset of the same size and classes differs here.
  d->info.content_hash = fnv1a(d->labels.data(), d->labels.size() * sizeof(int32_t));
  d->info.size = n;
  d->info.sample = Shape{static_cast<int64_t>(d->dims[3]), static_cast<int64_t>(d->dims[1]),
                         static_cast<int64_t>(d->dims[2])};
  d->info.class_names = std::move(labels.names);
  const hid_t images = d->images.get();
  d->attributes.mean = h5::read_float_attribute(images, "mean", path, "/images").value_or(std::vector<float>{});
  d->attributes.std = h5::read_float_attribute(images, "std", path, "/images").value_or(std::vector<float>{});
  d->attributes.resize_filter = h5::read_text_attribute(images, "resize_filter", path, "/images").value_or("");
  d->attributes.aspect = h5::read_text_attribute(images, "aspect", path, "/images").value_or("");
  if (options.memory_budget_bytes > 0 && d->image_bytes() <= options.memory_budget_bytes) d->read_whole_images();
  return Hdf5Dataset(std::move(d));
}

namespace {

// values [distinct, H, W, C] holds the distinct samples of the sorted request `order`, in
// order: each must be finite.
void check_finite(const std::string& path, const float* values,
                  const std::vector<std::pair<int64_t, int64_t>>& order, int64_t distinct, int64_t sample_numel) {
  for (int64_t i = 0; i < distinct * sample_numel; ++i) {
    if (std::isfinite(values[i])) [[likely]]
      continue;
    // The slot's sample index: the slot-th distinct index of the sorted request.
    const int64_t slot = i / sample_numel;
    int64_t seen = -1, previous = -1, index = -1;
    for (const auto& entry : order) {
      if (entry.first != previous) ++seen;
      previous = entry.first;
      if (seen == slot) {
        index = entry.first;
        break;
      }
    }
    throw IoError(detail::concat("HDF5 dataset '", path, "': /images sample ", index, " holds a non-finite value (",
                                 values[i], " at element ", i % sample_numel, " of the sample, in H,W,C order)"));
  }
}

// One sample [H, W, C] as stored (uint8 scaled by 1/255, or float) -> [C, H, W] floats.
template <typename T>
void sample_to_nchw(const T* __restrict in, int64_t plane, int64_t channels, float* __restrict out) {
  constexpr float kScale = 1.0f / 255.0f;
  if (channels == 1) {  // one plane: a loop the compiler vectorises (the loader's I/O thread
                        // shares the cores with the compute threads, so its time is theirs)
    for (int64_t p = 0; p < plane; ++p)
      out[p] = std::is_same_v<T, float> ? static_cast<float>(in[p]) : static_cast<float>(in[p]) * kScale;
    return;
  }
  for (int64_t p = 0; p < plane; ++p)
    for (int64_t ch = 0; ch < channels; ++ch) {
      const float v = static_cast<float>(in[p * channels + ch]);
      out[ch * plane + p] = std::is_same_v<T, float> ? v : v * kScale;
    }
}

}  // namespace

// Note [Resident images]: all of /images with one read, checked as every read is.
void Hdf5Dataset::Impl::read_whole_images() {
  const auto n = static_cast<int64_t>(dims[0]);
  const size_t numel = static_cast<size_t>(n * sample_numel());
  if (is_float) {
    scratch_f32.resize(numel);
    check(H5Dread(images.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, scratch_f32.data()), path,
          "H5Dread /images (all of it, into memory)");
    std::vector<std::pair<int64_t, int64_t>> every(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) every[i] = {i, i};
    check_finite(path, scratch_f32.data(), every, n, sample_numel());
  } else {
    scratch_u8.resize(numel);
    check(H5Dread(images.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, scratch_u8.data()), path,
          "H5Dread /images (all of it, into memory)");
  }
  resident = true;
}

void Hdf5Dataset::Impl::scratch_sample(int64_t k, float* out) const {
  const auto plane = static_cast<int64_t>(dims[1] * dims[2]), channels = static_cast<int64_t>(dims[3]);
  if (is_float)
    sample_to_nchw(scratch_f32.data() + k * sample_numel(), plane, channels, out);
  else
    sample_to_nchw(scratch_u8.data() + k * sample_numel(), plane, channels, out);
}

namespace {

// Calls fn(start, end) for each run [start, end) of consecutive sample indices in a sorted
// request (a repeated index joins its run).
template <typename Fn>
void for_each_run(const std::vector<std::pair<int64_t, int64_t>>& order, Fn&& fn) {
  for (size_t i = 0; i < order.size();) {
    const int64_t start = order[i].first;
    int64_t end = start + 1;
    for (; i < order.size() && order[i].first <= end; ++i) end = std::max(end, order[i].first + 1);
    fn(start, end);
  }
}

}  // namespace

void Hdf5Dataset::Impl::check_index(int64_t index) const {
  const auto n = static_cast<int64_t>(dims[0]);
  CONVOY_ASSERT(index >= 0 && index < n, "HDF5 dataset '", path, "': sample index ", index, " is outside [0, ", n, ")");
}

void Hdf5Dataset::Impl::sort_request(std::span<const int64_t> indices) {
  order.clear();
  for (size_t i = 0; i < indices.size(); ++i) {
    check_index(indices[i]);
    order.emplace_back(indices[i], static_cast<int64_t>(i));
  }
  std::sort(order.begin(), order.end());
}

int64_t Hdf5Dataset::Impl::read_runs() {
  int64_t distinct = 0;
  for_each_run(order, [&](int64_t start, int64_t end) { distinct += end - start; });
  const auto scratch_numel = static_cast<size_t>(distinct * sample_numel());
  if (is_float && scratch_f32.size() < scratch_numel) scratch_f32.resize(scratch_numel);
  if (!is_float && scratch_u8.size() < scratch_numel) scratch_u8.resize(scratch_numel);

  // Note: HDF5 1.10 reads a union of many hyperslabs about 50x slower than the same runs read
  // one by one (19 ms vs 0.4 ms for 256 random Fashion-MNIST samples), hence no union selection.
  const hid_t space = file_space.get();
  const hid_t memory = mem_space.get();
  int64_t done = 0;
  for_each_run(order, [&](int64_t start, int64_t end) {
    const hsize_t offset[4] = {static_cast<hsize_t>(start), 0, 0, 0};
    const hsize_t count[4] = {static_cast<hsize_t>(end - start), dims[1], dims[2], dims[3]};
    check(H5Sselect_hyperslab(space, H5S_SELECT_SET, offset, nullptr, count, nullptr), path,
          "H5Sselect_hyperslab /images");
    check(H5Sset_extent_simple(memory, rank, count, nullptr), path, "H5Sset_extent_simple");
    if (is_float) {
      check(H5Dread(images.get(), H5T_NATIVE_FLOAT, memory, space, H5P_DEFAULT,
                    scratch_f32.data() + done * sample_numel()),
            path, "H5Dread /images");
    } else {
      check(H5Dread(images.get(), H5T_NATIVE_UINT8, memory, space, H5P_DEFAULT,
                    scratch_u8.data() + done * sample_numel()),
            path, "H5Dread /images");
    }
    done += end - start;
  });
  return done;
}

void Hdf5Dataset::Impl::scatter(float* images_nchw, int32_t* out_labels) const {
  int64_t slot = -1;
  int64_t previous = -1;
  for (const auto& [index, position] : order) {
    if (index != previous) ++slot;
    previous = index;
    scratch_sample(slot, images_nchw + position * sample_numel());
    out_labels[position] = labels[index];
  }
}

void Hdf5Dataset::read(std::span<const int64_t> indices, float* images_nchw, int32_t* labels) {
  Impl& d = *impl_;
  h5::silence_errors();
  if (indices.empty()) return;
  if (d.resident) {  // Note [Resident images]
    for (size_t i = 0; i < indices.size(); ++i) {
      d.check_index(indices[i]);
      d.scratch_sample(indices[i], images_nchw + static_cast<int64_t>(i) * d.sample_numel());
      labels[i] = d.labels[indices[i]];
    }
    d.samples_read.fetch_add(static_cast<int64_t>(indices.size()), std::memory_order_relaxed);
    return;
  }

  // Sorted, consecutive samples form runs read front to back through the file, one H5Dread
  // each into its place in the scratch buffer; each distinct sample is read once, then
  // scattered to its requested positions.
  d.sort_request(indices);
  const int64_t distinct = d.read_runs();

  // Note [Dataset file identity]: what was read came from the file opened, unchanged.
  const std::string changed = d.identity.changes_to(FileIdentity::of(d.path, "HDF5 dataset"));
  CONVOY_CHECK(changed.empty(), IoError, "HDF5 dataset '", d.path, "' changed while in use: ", changed,
               "; its samples can no longer be trusted (restart from a checkpoint once the file is complete)");

  // A NaN or infinity in the data would silently poison the model: refuse it, naming the sample.
  if (d.is_float) check_finite(d.path, d.scratch_f32.data(), d.order, distinct, d.sample_numel());

  d.scatter(images_nchw, labels);  // scratch [distinct, H, W, C] -> images_nchw [indices, C, H, W]
  d.samples_read.fetch_add(static_cast<int64_t>(indices.size()), std::memory_order_relaxed);
}

}  // namespace convoy
