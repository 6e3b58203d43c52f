#include "io/weights_file.hpp"

#include <filesystem>
#include <system_error>

#include "core/error.hpp"
#include "io/hdf5_handle.hpp"

namespace convoy {

using h5::check;
using h5::checked;
using h5::Handle;

namespace {

void write_string_attribute(hid_t object, const char* name, const std::string& value, const std::string& path) {
  Handle type = checked(H5Tcopy(H5T_C_S1), H5Tclose, path, "H5Tcopy");
  check(H5Tset_size(type.get(), std::max<size_t>(value.size(), 1)), path, "H5Tset_size");
  Handle space = checked(H5Screate(H5S_SCALAR), H5Sclose, path, "H5Screate");
  Handle attr = checked(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, path,
                        "H5Acreate2 model_spec");
  check(H5Awrite(attr.get(), type.get(), value.c_str()), path, "H5Awrite model_spec");
}

void write_tensor(hid_t file, const WeightTensor& t, const std::string& path) {
  CONVOY_CHECK(t.layer.find('/') == std::string::npos && t.name.find('/') == std::string::npos, ConfigError,
               "weights file '", path, "': layer '", t.layer, "' tensor '", t.name, "': names may not contain '/'");
  const std::string where = "/" + t.layer;
  if (check(H5Lexists(file, where.c_str(), H5P_DEFAULT), path, "H5Lexists") == 0)
    Handle(checked(H5Gcreate2(file, where.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, path,
                   "H5Gcreate2"));
  std::vector<hsize_t> dims(t.shape.begin(), t.shape.end());
  Handle space = checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, path,
                         "H5Screate_simple");
  const std::string name = where + "/" + t.name;
  Handle set = checked(H5Dcreate2(file, name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                  H5P_DEFAULT),
                       H5Dclose, path, "H5Dcreate2");
  if (!t.values.empty())
    check(H5Dwrite(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.values.data()), path, "H5Dwrite");
}

WeightTensor read_tensor(hid_t file, const std::string& layer, const std::string& name, const std::string& path) {
  const std::string where = "/" + layer + "/" + name;
  H5O_info_t info;
  check(H5Oget_info_by_name2(file, where.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), path, "H5Oget_info");
  CONVOY_CHECK(info.type == H5O_TYPE_DATASET, IoError, "weights file '", path, "': ", where,
               ": expected a float dataset, found a group or another object");
  Handle set = checked(H5Dopen2(file, where.c_str(), H5P_DEFAULT), H5Dclose, path, "H5Dopen2");
  Handle type = checked(H5Dget_type(set.get()), H5Tclose, path, "H5Dget_type");
  CONVOY_CHECK(H5Tget_class(type.get()) == H5T_FLOAT, IoError, "weights file '", path, "': ", where,
               ": expected floats, found another element type");
  Handle space = checked(H5Dget_space(set.get()), H5Sclose, path, "H5Dget_space");
  const int rank = check(H5Sget_simple_extent_ndims(space.get()), path, "H5Sget_simple_extent_ndims");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  WeightTensor t{layer, name, std::vector<int64_t>(dims.begin(), dims.end()), {}};
  const auto count = static_cast<size_t>(check(H5Sget_simple_extent_npoints(space.get()), path, "npoints"));
  t.values.resize(count);
  if (count > 0)
    check(H5Dread(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.values.data()), path, "H5Dread");
  return t;
}

// The names of the links in a group, in creation order where tracked, else by name.
std::vector<std::string> link_names(hid_t group, const std::string& path) {
  H5G_info_t info;
  check(H5Gget_info(group, &info), path, "H5Gget_info");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t size = check(H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT),
                               path, "H5Lget_name_by_idx");
    std::string name(static_cast<size_t>(size), '\0');
    H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
    names.push_back(name);
  }
  return names;
}

}  // namespace

void write_weights_file(const std::string& path, const std::vector<WeightTensor>& tensors,
                        const std::string& model_spec_json) {
  h5::create_file_atomically(path, "weights file", [&](hid_t file, const std::string& tmp) {
    write_string_attribute(file, "model_spec", model_spec_json, tmp);
    for (const WeightTensor& t : tensors) write_tensor(file, t, tmp);
  });
}

std::vector<WeightTensor> read_weights_file(const std::string& path) {
  h5::silence_errors();
  std::error_code ec;
  CONVOY_CHECK(std::filesystem::is_regular_file(path, ec), IoError, "weights file '", path,
               "': not found (or not a regular file)");
  CONVOY_CHECK(H5Fis_hdf5(path.c_str()) > 0, IoError, "weights file '", path, "': not an HDF5 file");
  Handle file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path, "H5Fopen");
  std::vector<WeightTensor> tensors;
  for (const std::string& layer : link_names(file.get(), path)) {
    H5O_info_t info;
    check(H5Oget_info_by_name2(file.get(), layer.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), path, "H5Oget_info");
    CONVOY_CHECK(info.type == H5O_TYPE_GROUP, IoError, "weights file '", path, "': /", layer,
                 ": expected a group per layer at the root, found a dataset or another object");
    Handle group = checked(H5Gopen2(file.get(), layer.c_str(), H5P_DEFAULT), H5Gclose, path, "H5Gopen2");
    for (const std::string& name : link_names(group.get(), path))
      tensors.push_back(read_tensor(file.get(), layer, name, path));
  }
  return tensors;
}

}  // namespace convoy
