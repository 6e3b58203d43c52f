// libFuzzer target: the HDF5 dataset reader on damaged files must open and read or throw one of
// Convoy's errors (IoError, ShapeError, ConfigError), within the file's real storage.
#include <hdf5.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "io/hdf5_dataset.hpp"
#include "io/hdf5_dataset_writer.hpp"

namespace {

// Note: libhdf5 (Debian's 1.10.8) is not memory-safe on damaged metadata: fuzzing whole files
// found a use-after-free in H5Aexists on a damaged object header and reads past a filtered
// chunk's inflated bytes, inside the library, where Convoy cannot check first. So the damage is
// aimed at what Convoy's reader checks: the values (pixels, labels, class names) and the size
// fields it validates (the dataspace's dimensions, the chunk dimensions, the label type's width);
// the other metadata is left intact. The first input byte can still hand the fuzzer a whole file.
struct Template {
  std::vector<uint8_t> bytes;
  std::vector<std::pair<size_t, size_t>> regions;  // [begin, end) byte ranges the patches land in
  size_t region_bytes = 0;
};

struct Templates {
  std::string path;  // where each input is written before it is opened
  std::vector<Template> files;
};

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every occurrence of `pattern` in `bytes`, as a region.
void add_matches(Template& t, const std::vector<uint8_t>& pattern) {
  for (size_t i = 0; i + pattern.size() <= t.bytes.size(); ++i)
    if (std::memcmp(t.bytes.data() + i, pattern.data(), pattern.size()) == 0) t.regions.emplace_back(i, i + pattern.size());
}

template <typename T>
std::vector<uint8_t> little_endian(std::initializer_list<T> values) {
  std::vector<uint8_t> out;
  for (T v : values)
    for (size_t b = 0; b < sizeof(T); ++b) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * b)));
  return out;
}

// The stored bytes of a dataset: its contiguous block, or every chunk.
void add_chunks(Template& t, hid_t file, const char* name) {
  const hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  const haddr_t contiguous = H5Dget_offset(d);
  if (contiguous != HADDR_UNDEF) {
    t.regions.emplace_back(contiguous, contiguous + H5Dget_storage_size(d));
    H5Dclose(d);
    return;
  }
  const hid_t space = H5Dget_space(d);
  hsize_t chunks = 0;
  H5Dget_num_chunks(d, space, &chunks);
  for (hsize_t i = 0; i < chunks; ++i) {
    hsize_t offset[4];
    unsigned mask = 0;
    haddr_t address = 0;
    hsize_t size = 0;
    if (H5Dget_chunk_info(d, space, i, offset, &mask, &address, &size) >= 0) t.regions.emplace_back(address, address + size);
  }
  H5Sclose(space);
  H5Dclose(d);
}

Template make_template(const std::string& path, const std::vector<uint8_t>& name_bytes) {
  Template t;
  t.bytes = file_bytes(path);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  add_chunks(t, file, "images");
  add_chunks(t, file, "labels");
  H5Fclose(file);
  add_matches(t, little_endian<uint64_t>({7, 3, 2, 2}));  // the dataspace of /images
  add_matches(t, little_endian<uint64_t>({7}));           // and of /labels (and other 7s)
  add_matches(t, little_endian<uint32_t>({7, 3, 2, 2}));  // chunk dimensions
  if (!name_bytes.empty()) add_matches(t, name_bytes);
  for (const auto& [begin, end] : t.regions) t.region_bytes += end - begin;
  if (t.region_bytes == 0) std::abort();
  return t;
}

// float32 images, which the Convoy writer does not make: written with the C API.
void write_float_dataset(const std::string& path) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dims[4] = {7, 3, 2, 2}, chunk[4] = {2, 3, 2, 2}, n = 7;
  const hid_t space = H5Screate_simple(4, dims, nullptr), lspace = H5Screate_simple(1, &n, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 4, chunk);
  std::vector<float> images(7 * 12);
  for (size_t i = 0; i < images.size(); ++i) images[i] = 0.01f * static_cast<float>(i);
  const int32_t labels[7] = {0, 1, 1, 0, 1, 0, 0};
  const hid_t d = H5Dcreate2(file, "images", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, images.data());
  const hid_t l = H5Dcreate2(file, "labels", H5T_STD_I32LE, lspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(l, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels);
  H5Dclose(l);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(lspace);
  H5Sclose(space);
  H5Fclose(file);
}

Templates& templates() {
  static Templates t = [] {
    Templates made;
    // Every input is written to a file (HDF5 opens paths): memory-backed /dev/shm when there is one.
    const char* tmp = std::getenv("TMPDIR");
    const std::string base = tmp != nullptr ? tmp : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string folder = base + "/convoy-hdf5-fuzz-XXXXXX";
    if (mkdtemp(folder.data()) == nullptr) std::abort();
    made.path = folder + "/input.h5";
    const std::string maker = folder + "/template.h5";
    std::vector<uint8_t> images(7 * 3 * 2 * 2);
    for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<uint8_t>(i * 37);
    const std::vector<int32_t> labels = {0, 1, 2, 1, 0, 2, 1};
    convoy::write_hdf5_dataset(maker, {7, 3, 2, 2}, images.data(), labels.data(), {"alpha", "beta", "gamma"});
    made.files.push_back(make_template(maker, {'a', 'l', 'p', 'h', 'a'}));
    write_float_dataset(maker);
    made.files.push_back(make_template(maker, {}));
    std::remove(maker.c_str());
    return made;
  }();
  return t;
}

}  // namespace

// The first byte: 0-1 the rest is the whole file; otherwise it picks a template, and the rest is
// patches of 3 bytes (a 16-bit position in the template's regions, a byte to XOR there); its high
// bit asks for 5 classes instead of the file's own.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Templates& t = templates();
  const int choice = data[0] & 3;
  std::vector<uint8_t> file;
  if (choice < 2) {
    file.assign(data + 1, data + size);
  } else {
    const Template& base = t.files[choice - 2];
    file = base.bytes;
    for (size_t i = 1; i + 2 < size; i += 3) {
      size_t at = ((data[i] << 8) | data[i + 1]) % base.region_bytes;
      for (const auto& [begin, end] : base.regions) {
        if (at < end - begin) {
          file[begin + at] ^= data[i + 2];
          break;
        }
        at -= end - begin;
      }
    }
  }
  {
    std::ofstream out(t.path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  }
  const int64_t expected_classes = (data[0] & 0x80) != 0 ? 5 : 0;
  try {
    convoy::Hdf5Dataset d = convoy::Hdf5Dataset::open(t.path, {.expected_classes = expected_classes, .batch_hint = 4});
    const convoy::DatasetInfo& info = d.info();
    // What opened is what the reader promises: labels inside the class count, sizes that fit.
    if (info.size != static_cast<int64_t>(d.labels().size())) __builtin_trap();
    for (int32_t label : d.labels())
      if (label < 0 || (info.classes > 0 && label >= info.classes)) __builtin_trap();
    const int64_t numel = info.sample.numel();
    if (info.size * numel > (int64_t{1} << 22)) return 0;  // stored in full, but too big to read here
    // Every sample, in batches of up to 3 in descending order, so the reader sorts them into runs.
    std::vector<float> images(3 * numel);
    std::vector<int32_t> labels(3);
    for (int64_t end = info.size; end > 0; end -= 3) {
      std::vector<int64_t> indices;
      for (int64_t i = end - 1; i >= 0 && i >= end - 3; --i) indices.push_back(i);
      d.read(indices, images.data(), labels.data());
      for (size_t i = 0; i < indices.size(); ++i)
        if (labels[i] != d.labels()[indices[i]]) __builtin_trap();
    }
    if (d.samples_read() != info.size) __builtin_trap();
  } catch (const convoy::Error&) {
    // Refused with a message naming the file: the expected outcome for most inputs.
  }
  // Any other exception escapes and libFuzzer reports it as a crash.
  return 0;
}
