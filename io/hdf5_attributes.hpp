// Small attributes of HDF5 objects (a list of floats, a text): read and written, every call checked.
#pragma once

#include <hdf5.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace convoy::h5 {

// The values of attribute `name` of `object` as floats, or nullopt when it has none. IoError
// naming `file` and `object_name` when it is not numeric or not a scalar or a list.
std::optional<std::vector<float>> read_float_attribute(hid_t object, const char* name, const std::string& file,
                                                       const char* object_name);
// A string attribute (variable or fixed length), or nullopt when absent; IoError if not a string.
std::optional<std::string> read_text_attribute(hid_t object, const char* name, const std::string& file,
                                               const char* object_name);

// A float32 list attribute; a UTF-8 variable-length string attribute (h5py reads it as str).
void write_float_attribute(hid_t object, const std::string& name, std::span<const float> values,
                           const std::string& file, const char* object_name);
void write_text_attribute(hid_t object, const std::string& name, const std::string& value, const std::string& file,
                          const char* object_name);

}  // namespace convoy::h5
