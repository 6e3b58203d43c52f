#include "tests/apps/fashion_slice.hpp"

#include <zlib.h>

#include <fstream>
#include <stdexcept>
#include <vector>

#include "tests/apps/run_command.hpp"

namespace convoy::testing {
namespace {

std::vector<unsigned char> read_prefix(const std::string& gz_path, size_t bytes) {
  gzFile f = gzopen(gz_path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + gz_path);
  std::vector<unsigned char> data(bytes);
  const int got = gzread(f, data.data(), static_cast<unsigned>(bytes));
  gzclose(f);
  if (got != static_cast<int>(bytes)) throw std::runtime_error("short read of " + gz_path);
  return data;
}

void put_count(std::vector<unsigned char>& header, int64_t count) {
  // Bytes 4..7 hold the first dimension, big-endian.
  for (int i = 0; i < 4; ++i) header[4 + i] = static_cast<unsigned char>(count >> (8 * (3 - i)));
}

}  // namespace

void write_fashion_mnist_slice(const std::string& split, int64_t count, const std::string& images_path,
                               const std::string& labels_path) {
  const std::string dir = CONVOY_FASHION_MNIST_DIR;
  auto images = read_prefix(dir + "/" + split + "-images-idx3-ubyte.gz", 16 + count * 28 * 28);
  auto labels = read_prefix(dir + "/" + split + "-labels-idx1-ubyte.gz", 8 + count);
  put_count(images, count);
  put_count(labels, count);
  std::ofstream(images_path, std::ios::binary).write(reinterpret_cast<const char*>(images.data()), images.size());
  std::ofstream(labels_path, std::ios::binary).write(reinterpret_cast<const char*>(labels.data()), labels.size());
}

void write_fashion_mnist_h5(const std::string& split, int64_t count, const std::string& h5_path) {
  write_fashion_mnist_slice(split, count, h5_path + ".images", h5_path + ".labels");
  const CommandResult r =
      run_command(std::string(CONVOY_BINARY) + " convert idx --images " + h5_path + ".images --labels " + h5_path +
                  ".labels --class-names fashion-mnist -o " + h5_path);
  if (r.exit_code != 0) throw std::runtime_error("convoy convert idx into " + h5_path + " failed: " + r.output);
}

}  // namespace convoy::testing
