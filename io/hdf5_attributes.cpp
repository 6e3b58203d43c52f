#include "io/hdf5_attributes.hpp"

#include <cstring>

#include "core/error.hpp"
#include "io/hdf5_handle.hpp"

namespace convoy::h5 {
namespace {

// The attribute opened, or an invalid handle when the object has none.
Handle open_attribute(hid_t object, const char* name, const std::string& file, const std::string& what) {
  if (check(H5Aexists(object, name), file, what.c_str()) == 0) return {};
  return checked(H5Aopen(object, name, H5P_DEFAULT), H5Aclose, file, what.c_str());
}

}  // namespace

std::optional<std::vector<float>> read_float_attribute(hid_t object, const char* name, const std::string& file,
                                                       const char* object_name) {
  const std::string what = std::string("reading attribute ") + name + " of " + object_name;
  Handle attr = open_attribute(object, name, file, what);
  if (!attr.valid()) return std::nullopt;
  Handle type = checked(H5Aget_type(attr.get()), H5Tclose, file, what.c_str());
  const H5T_class_t kind = H5Tget_class(type.get());
  CONVOY_CHECK(kind == H5T_FLOAT || kind == H5T_INTEGER, IoError, "HDF5 dataset '", file, "': attribute ", name,
               " of ", object_name, ": expected numbers, found another type");
  Handle space = checked(H5Aget_space(attr.get()), H5Sclose, file, what.c_str());
  const int rank = check(H5Sget_simple_extent_ndims(space.get()), file, what.c_str());
  CONVOY_CHECK(rank <= 1, IoError, "HDF5 dataset '", file, "': attribute ", name, " of ", object_name,
               ": expected a list (rank 1), found rank ", rank);
  const auto count = static_cast<size_t>(check(H5Sget_simple_extent_npoints(space.get()), file, what.c_str()));
  std::vector<float> values(count);
  check(H5Aread(attr.get(), H5T_NATIVE_FLOAT, values.data()), file, what.c_str());
  return values;
}

std::optional<std::string> read_text_attribute(hid_t object, const char* name, const std::string& file,
                                               const char* object_name) {
  const std::string what = std::string("reading attribute ") + name + " of " + object_name;
  Handle attr = open_attribute(object, name, file, what);
  if (!attr.valid()) return std::nullopt;
  Handle type = checked(H5Aget_type(attr.get()), H5Tclose, file, what.c_str());
  CONVOY_CHECK(H5Tget_class(type.get()) == H5T_STRING, IoError, "HDF5 dataset '", file, "': attribute ", name,
               " of ", object_name, ": expected a string, found another type");
  Handle space = checked(H5Aget_space(attr.get()), H5Sclose, file, what.c_str());
  CONVOY_CHECK(check(H5Sget_simple_extent_npoints(space.get()), file, what.c_str()) == 1, IoError, "HDF5 dataset '",
               file, "': attribute ", name, " of ", object_name, ": expected one string");
  Handle mem = checked(H5Tcopy(H5T_C_S1), H5Tclose, file, what.c_str());
  // HDF5 converts no string between ASCII and UTF-8: read in the file's own character set.
  check(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), file, what.c_str());
  if (check(H5Tis_variable_str(type.get()), file, what.c_str()) > 0) {
    check(H5Tset_size(mem.get(), H5T_VARIABLE), file, what.c_str());
    char* text = nullptr;
    check(H5Aread(attr.get(), mem.get(), &text), file, what.c_str());
    std::string value = text != nullptr ? text : "";
    H5free_memory(text);
    return value;
  }
  const size_t size = H5Tget_size(type.get());
  check(H5Tset_size(mem.get(), size), file, what.c_str());
  std::vector<char> buffer(size);
  check(H5Aread(attr.get(), mem.get(), buffer.data()), file, what.c_str());
  return std::string(buffer.data(), strnlen(buffer.data(), size));
}

void write_float_attribute(hid_t object, const std::string& name, std::span<const float> values,
                           const std::string& file, const char* object_name) {
  const std::string what = "writing attribute " + name + " of " + object_name;
  const hsize_t count[1] = {values.size()};
  Handle space = checked(H5Screate_simple(1, count, nullptr), H5Sclose, file, what.c_str());
  Handle attr = checked(H5Acreate2(object, name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                        H5Aclose, file, what.c_str());
  check(H5Awrite(attr.get(), H5T_NATIVE_FLOAT, values.data()), file, what.c_str());
}

void write_text_attribute(hid_t object, const std::string& name, const std::string& value, const std::string& file,
                          const char* object_name) {
  const std::string what = "writing attribute " + name + " of " + object_name;
  Handle type = checked(H5Tcopy(H5T_C_S1), H5Tclose, file, what.c_str());
  check(H5Tset_size(type.get(), H5T_VARIABLE), file, what.c_str());
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), file, what.c_str());
  Handle space = checked(H5Screate(H5S_SCALAR), H5Sclose, file, what.c_str());
  Handle attr = checked(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                        H5Aclose, file, what.c_str());
  const char* text = value.c_str();
  check(H5Awrite(attr.get(), type.get(), &text), file, what.c_str());
}

}  // namespace convoy::h5
