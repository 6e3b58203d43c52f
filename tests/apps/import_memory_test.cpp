// convoy convert images under a memory cap: a folder whose pixels are several times the memory
// the process may use still imports, because images are decoded, resized and written a block at
// a time (io/image_import.hpp).
#include <gtest/gtest.h>

#include <filesystem>

#include "io/hdf5_dataset.hpp"
#include "tests/apps/run_command.hpp"
#include "tests/support/image_files.hpp"

namespace convoy {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

TEST(ImportMemory, AFolderFiveTimesTheMemoryCapImports) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer maps terabytes of shadow memory, which a data limit refuses";
#endif
  // 2 x 641 files of 256x256 RGB: 252 MB of pixels decoded and written, against a cap of 48 MiB
  // on the process's data (RLIMIT_DATA: heap, anonymous mappings, thread stacks). One thread
  // imports it within 34 MiB (measured: 32 fails); the output held in memory would not fit five
  // times over, nor would a block of all files (it fails at once). Hard links keep the folder
  // small on disk; each is still decoded on its own.
  constexpr int64_t kCapBytes = 48 << 20;
  constexpr int kFilesPerClass = 641;
  constexpr int64_t kSide = 256;
  TempDir dir;
  for (int label = 0; label < 2; ++label) {
    const std::string folder = dir.file("photos/class " + std::to_string(label));
    fs::create_directories(folder);
    testing::write_png(folder + "/0.png", testing::class_picture(label, kSide, kSide, 3, label));
    for (int i = 1; i < kFilesPerClass; ++i)
      fs::create_hard_link(folder + "/0.png", folder + "/" + std::to_string(i) + ".png");
  }
  const std::string output = dir.file("train.h5");
  const CommandResult r =
      run_command("prlimit --data=" + std::to_string(kCapBytes) + " " + CONVOY_BINARY + " convert images " +
                  dir.file("photos") + " -o " + output + " --size 256x256 --color rgb --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Found 1282 files belonging to 2 classes."), std::string::npos) << r.output;

  Hdf5Dataset written = Hdf5Dataset::open(output);
  ASSERT_EQ(written.info().size, 2 * kFilesPerClass);
  EXPECT_GT(written.info().size * kSide * kSide * 3, 5 * kCapBytes);
  // The last image of each class is its class's picture, so every block reached the file.
  const int64_t numel = written.info().sample.numel();
  std::vector<float> images(static_cast<size_t>(2 * numel));
  std::vector<int32_t> labels(2);
  const std::vector<int64_t> last = {kFilesPerClass - 1, 2 * kFilesPerClass - 1};
  written.read(last, images.data(), labels.data());
  EXPECT_EQ(labels, (std::vector<int32_t>{0, 1}));
  for (int label = 0; label < 2; ++label) {
    const Image picture = testing::class_picture(label, kSide, kSide, 3, label);
    // Stored [H, W, C] as uint8, read as [C, H, W] floats in [0, 1].
    EXPECT_FLOAT_EQ(images[label * numel + 2 * kSide * kSide + kSide + 7], picture.at(1, 7, 2) / 255.0f);
  }
}

}  // namespace
}  // namespace convoy
