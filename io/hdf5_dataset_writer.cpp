#include "io/hdf5_dataset_writer.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/hdf5_attributes.hpp"
#include "io/hdf5_handle.hpp"

namespace convoy {

using h5::check;
using h5::checked;
using h5::Handle;

struct Hdf5DatasetWriter::Impl {
  std::string path;
  std::string tmp_path;
  std::array<int64_t, 4> dims{};
  int64_t classes = 0;  // 0 when the file has no class names
  int64_t written = 0;
  bool committed = false;
  Handle file;  // declared first so it closes last
  Handle images;
  Handle labels;

  ~Impl() {
    if (committed) return;
    labels.reset();
    images.reset();
    file.reset();
    std::error_code ec;
    std::filesystem::remove(tmp_path, ec);
  }
};

namespace {

// A chunked dataset `name` of `type` with extent dims[0..rank), chunked by chunk[0..rank).
Handle create_chunked(hid_t file, const char* name, hid_t type, int rank, const hsize_t* dims, const hsize_t* chunk,
                      int deflate_level, const std::string& tmp) {
  const std::string dataset = std::string("/") + name;
  Handle space = checked(H5Screate_simple(rank, dims, nullptr), H5Sclose, tmp, ("H5Screate_simple " + dataset).c_str());
  Handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, tmp, "H5Pcreate");
  check(H5Pset_chunk(dcpl.get(), rank, chunk), tmp, ("H5Pset_chunk " + dataset).c_str());
  if (deflate_level > 0) check(H5Pset_deflate(dcpl.get(), deflate_level), tmp, "H5Pset_deflate");
  return checked(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose, tmp,
                 ("H5Dcreate2 " + dataset).c_str());
}

// class_names as variable-length UTF-8 strings: h5py reads them as a plain array of str.
void write_class_names(hid_t labels, const std::vector<std::string>& class_names, const std::string& tmp) {
  const char* what = "writing attribute class_names of /labels";
  Handle type = checked(H5Tcopy(H5T_C_S1), H5Tclose, tmp, what);
  check(H5Tset_size(type.get(), H5T_VARIABLE), tmp, what);
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), tmp, what);
  const hsize_t count[1] = {class_names.size()};
  Handle space = checked(H5Screate_simple(1, count, nullptr), H5Sclose, tmp, what);
  Handle attr =
      checked(H5Acreate2(labels, "class_names", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, tmp, what);
  std::vector<const char*> strings;
  for (const auto& name : class_names) strings.push_back(name.c_str());
  check(H5Awrite(attr.get(), type.get(), strings.data()), tmp, what);
}

}  // namespace

int64_t Hdf5DatasetWriter::chunk_rows(const std::array<int64_t, 4>& dims_nhwc) {
  constexpr int64_t kChunkBytes = 256 << 10;
  const int64_t sample_bytes = std::max<int64_t>(dims_nhwc[1] * dims_nhwc[2] * dims_nhwc[3], 1);
  return std::clamp<int64_t>(kChunkBytes / sample_bytes, 1, std::max<int64_t>(dims_nhwc[0], 1));
}

Hdf5DatasetWriter::Hdf5DatasetWriter(const std::string& path, const std::array<int64_t, 4>& dims_nhwc,
                                     const std::vector<std::string>& class_names, const Hdf5WriteOptions& options)
    : impl_(std::make_unique<Impl>()) {
  h5::silence_errors();
  Impl& d = *impl_;
  d.path = path;
  d.tmp_path = atomic_temp_path(path);  // hidden and per process: never a user's file
  d.dims = dims_nhwc;
  d.classes = static_cast<int64_t>(class_names.size());
  CONVOY_CHECK(dims_nhwc[0] > 0 && dims_nhwc[1] > 0 && dims_nhwc[2] > 0 && dims_nhwc[3] > 0, ConfigError,
               "HDF5 dataset '", path, "': expected dimensions N,H,W,C all > 0, found [", dims_nhwc[0], ", ",
               dims_nhwc[1], ", ", dims_nhwc[2], ", ", dims_nhwc[3], "]");
  CONVOY_CHECK(options.deflate_level >= 0 && options.deflate_level <= 9, ConfigError, "HDF5 dataset '", path,
               "': expected a deflate level in [0, 9], found ", options.deflate_level);
  const std::string& tmp = d.tmp_path;
  d.file = checked(H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, tmp, "H5Fcreate");

  const hsize_t dims[4] = {static_cast<hsize_t>(dims_nhwc[0]), static_cast<hsize_t>(dims_nhwc[1]),
                           static_cast<hsize_t>(dims_nhwc[2]), static_cast<hsize_t>(dims_nhwc[3])};
  const hsize_t image_chunk[4] = {static_cast<hsize_t>(chunk_rows(dims_nhwc)), dims[1], dims[2], dims[3]};
  d.images = create_chunked(d.file.get(), "images", H5T_STD_U8LE, 4, dims, image_chunk, options.deflate_level, tmp);
  const hsize_t label_chunk[1] = {std::min<hsize_t>(dims[0], 64 << 10)};
  d.labels = create_chunked(d.file.get(), "labels", H5T_STD_I32LE, 1, dims, label_chunk, options.deflate_level, tmp);
  if (!class_names.empty()) write_class_names(d.labels.get(), class_names, tmp);
}

Hdf5DatasetWriter::~Hdf5DatasetWriter() = default;

void Hdf5DatasetWriter::append(int64_t count, const uint8_t* images_nhwc, const int32_t* labels) {
  Impl& d = *impl_;
  h5::silence_errors();
  CONVOY_ASSERT(!d.committed, "HDF5 dataset '", d.path, "': append after commit");
  CONVOY_ASSERT(count >= 0 && d.written + count <= d.dims[0], "HDF5 dataset '", d.path,
                "': expected at most ", d.dims[0] - d.written, " more samples, found ", count);
  if (count == 0) return;
  for (int64_t i = 0; i < count; ++i) {
    CONVOY_CHECK(labels[i] >= 0 && (d.classes == 0 || labels[i] < d.classes), ConfigError, "HDF5 dataset '",
                 d.path, "': label of sample ", d.written + i, " is ", labels[i], ", expected [0, ",
                 d.classes == 0 ? std::string("inf") : std::to_string(d.classes), ")");
  }
  const std::string& tmp = d.tmp_path;
  const hsize_t offset[4] = {static_cast<hsize_t>(d.written), 0, 0, 0};
  const hsize_t extent[4] = {static_cast<hsize_t>(count), static_cast<hsize_t>(d.dims[1]),
                             static_cast<hsize_t>(d.dims[2]), static_cast<hsize_t>(d.dims[3])};
  {
    Handle file_space = checked(H5Dget_space(d.images.get()), H5Sclose, tmp, "H5Dget_space /images");
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset, nullptr, extent, nullptr), tmp,
          "H5Sselect_hyperslab /images");
    Handle mem_space = checked(H5Screate_simple(4, extent, nullptr), H5Sclose, tmp, "H5Screate_simple");
    check(H5Dwrite(d.images.get(), H5T_NATIVE_UINT8, mem_space.get(), file_space.get(), H5P_DEFAULT, images_nhwc),
          tmp, "H5Dwrite /images");
  }
  {
    Handle file_space = checked(H5Dget_space(d.labels.get()), H5Sclose, tmp, "H5Dget_space /labels");
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset, nullptr, extent, nullptr), tmp,
          "H5Sselect_hyperslab /labels");
    Handle mem_space = checked(H5Screate_simple(1, extent, nullptr), H5Sclose, tmp, "H5Screate_simple");
    check(H5Dwrite(d.labels.get(), H5T_NATIVE_INT32, mem_space.get(), file_space.get(), H5P_DEFAULT, labels), tmp,
          "H5Dwrite /labels");
  }
  d.written += count;
}

void Hdf5DatasetWriter::shrink(int64_t size) {
  Impl& d = *impl_;
  h5::silence_errors();
  CONVOY_ASSERT(!d.committed && size >= d.written && size <= d.dims[0] && size > 0, "HDF5 dataset '",
                d.path, "': cannot shrink to ", size, " samples, expected [", std::max<int64_t>(d.written, 1), ", ",
                d.dims[0], "]");
  d.dims[0] = size;
  const hsize_t images[4] = {static_cast<hsize_t>(size), static_cast<hsize_t>(d.dims[1]),
                             static_cast<hsize_t>(d.dims[2]), static_cast<hsize_t>(d.dims[3])};
  check(H5Dset_extent(d.images.get(), images), d.tmp_path, "H5Dset_extent /images");
  check(H5Dset_extent(d.labels.get(), images), d.tmp_path, "H5Dset_extent /labels");
}

void Hdf5DatasetWriter::set_images_attribute(const std::string& name, std::span<const float> values) {
  h5::silence_errors();
  h5::write_float_attribute(impl_->images.get(), name, values, impl_->tmp_path, "/images");
}

void Hdf5DatasetWriter::set_images_text_attribute(const std::string& name, const std::string& value) {
  h5::silence_errors();
  h5::write_text_attribute(impl_->images.get(), name, value, impl_->tmp_path, "/images");
}

void Hdf5DatasetWriter::commit() {
  Impl& d = *impl_;
  h5::silence_errors();
  CONVOY_ASSERT(!d.committed, "HDF5 dataset '", d.path, "': committed twice");
  CONVOY_ASSERT(d.written == d.dims[0], "HDF5 dataset '", d.path, "': expected ", d.dims[0],
                " samples before commit, found ", d.written);
  check(H5Fflush(d.file.get(), H5F_SCOPE_GLOBAL), d.tmp_path, "H5Fflush");
  d.labels.reset();
  d.images.reset();
  check(H5Fclose(d.file.release()), d.tmp_path, "H5Fclose");
  std::error_code ec;
  std::filesystem::rename(d.tmp_path, d.path, ec);
  CONVOY_CHECK(!ec, IoError, "HDF5 dataset '", d.path, "': cannot rename '", d.tmp_path, "' onto it: ",
               ec.message());
  d.committed = true;
}

void write_hdf5_dataset(const std::string& path, const std::array<int64_t, 4>& dims_nhwc,
                        const uint8_t* images_nhwc, const int32_t* labels,
                        const std::vector<std::string>& class_names, const Hdf5WriteOptions& options) {
  Hdf5DatasetWriter writer(path, dims_nhwc, class_names, options);
  writer.append(dims_nhwc[0], images_nhwc, labels);
  writer.commit();
}

}  // namespace convoy
