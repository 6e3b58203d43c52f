#include "io/logits_file.hpp"

#include "core/error.hpp"
#include "io/hdf5_handle.hpp"

namespace convoy {

using h5::check;
using h5::checked;
using h5::Handle;

namespace {

void write_dataset(hid_t file, const char* name, hid_t file_type, hid_t memory_type, std::vector<hsize_t> dims,
                   const void* values, const std::string& path) {
  Handle space = checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, path,
                         "H5Screate_simple");
  Handle set = checked(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
                       path, "H5Dcreate2");
  if (dims[0] > 0) check(H5Dwrite(set.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), path, "H5Dwrite");
}

std::vector<hsize_t> dataset_dims(hid_t set, const std::string& path) {
  Handle space = checked(H5Dget_space(set), H5Sclose, path, "H5Dget_space");
  const int rank = check(H5Sget_simple_extent_ndims(space.get()), path, "H5Sget_simple_extent_ndims");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), path, "H5Sget_simple_extent_dims");
  return dims;
}

}  // namespace

void write_logits_file(const std::string& path, const std::vector<float>& logits, const std::vector<int32_t>& labels,
                       int64_t classes) {
  CONVOY_ASSERT(classes > 0 && logits.size() == labels.size() * static_cast<size_t>(classes),
                "logits file: ", logits.size(), " logits for ", labels.size(), " samples of ", classes, " classes");
  h5::create_file_atomically(path, "logits file", [&](hid_t file, const std::string& tmp) {
    const auto samples = static_cast<hsize_t>(labels.size());
    write_dataset(file, "/logits", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {samples, static_cast<hsize_t>(classes)},
                  logits.data(), tmp);
    write_dataset(file, "/labels", H5T_STD_I32LE, H5T_NATIVE_INT32, {samples}, labels.data(), tmp);
  });
}

LogitsFile read_logits_file(const std::string& path) {
  h5::silence_errors();
  Handle file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path, "H5Fopen");
  Handle logits = checked(H5Dopen2(file.get(), "/logits", H5P_DEFAULT), H5Dclose, path, "H5Dopen2 /logits");
  Handle labels = checked(H5Dopen2(file.get(), "/labels", H5P_DEFAULT), H5Dclose, path, "H5Dopen2 /labels");
  const std::vector<hsize_t> dims = dataset_dims(logits.get(), path), label_dims = dataset_dims(labels.get(), path);
  CONVOY_CHECK(dims.size() == 2 && label_dims.size() == 1 && label_dims[0] == dims[0], IoError, "logits file '", path,
               "': expected /logits [N, classes] and /labels [N], found ranks ", dims.size(), " and ",
               label_dims.size());
  LogitsFile out;
  out.samples = static_cast<int64_t>(dims[0]);
  out.classes = static_cast<int64_t>(dims[1]);
  out.logits.resize(static_cast<size_t>(out.samples * out.classes));
  out.labels.resize(static_cast<size_t>(out.samples));
  if (out.samples > 0) {
    check(H5Dread(logits.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.logits.data()), path, "H5Dread");
    check(H5Dread(labels.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.labels.data()), path, "H5Dread");
  }
  return out;
}

}  // namespace convoy
