// End-to-end: --normalize, --augment, several files as one dataset, convoy plot, and the exit-2
// checks of convert images and predict.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/channel_statistics.hpp"
#include "io/checkpoint.hpp"
#include "io/hdf5_dataset.hpp"
#include "io/hdf5_dataset_writer.hpp"
#include "io/idx_reader.hpp"
#include "io/image_decode.hpp"
#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/run_command.hpp"
#include "tests/support/image_files.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

std::string convoy(const std::string& args) { return std::string(CONVOY_BINARY) + " " + args; }
std::string quoted(const std::string& path) { return "'" + path + "'"; }

void expect_same_parameters(const TrainingState& a, const TrainingState& b) {
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  EXPECT_EQ(0, std::memcmp(a.parameters.data(), b.parameters.data(), a.parameters.size() * sizeof(float)))
      << "parameters differ";
  EXPECT_EQ(a.step, b.step);
}

// Samples [first, first + n) of IDX arrays as an HDF5 file with the import's mean and std.
void write_slice(const IdxArray& images, const IdxArray& labels, int64_t first, int64_t n,
                 const std::vector<std::string>& class_names, const std::string& path) {
  const int64_t pixels = images.dims[1] * images.dims[2];
  const uint8_t* data = images.data.data() + first * pixels;
  std::vector<int32_t> wide(labels.data.begin() + first, labels.data.begin() + first + n);
  Hdf5DatasetWriter writer(path, {n, images.dims[1], images.dims[2], 1}, class_names);
  writer.append(n, data, wide.data());
  ChannelStatistics stats(1);
  stats.add(data, n * pixels);
  writer.set_images_attribute("mean", stats.mean());
  writer.set_images_attribute("std", stats.stddev());
  writer.commit();
}

class DataPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::write_fashion_mnist_h5("train", 600, dir_->file("whole.h5"));
    const IdxArray images = read_idx_images(dir_->file("whole.h5.images"));
    const IdxArray labels = read_idx_labels(dir_->file("whole.h5.labels"));
    const std::vector<std::string> names = Hdf5Dataset::open(dir_->file("whole.h5")).info().class_names;
    std::filesystem::create_directory(dir_->file("parts"));
    write_slice(images, labels, 0, 250, names, dir_->file("parts/p0.h5"));
    write_slice(images, labels, 250, 350, names, dir_->file("parts/p1.h5"));
    std::vector<std::string> renamed = names;
    renamed[3] = "frock";
    write_slice(images, labels, 250, 350, renamed, dir_->file("renamed.h5"));
  }
  static void TearDownTestSuite() { delete dir_; }

  // keras-cnn on 28x28, global batch 32: 19 steps an epoch.
  static std::string train(const std::string& data, const std::string& checkpoints, const std::string& extra) {
    return convoy("train --data " + data + " --model keras-cnn --epochs 1 --batch 32 --optimizer sgd --lr 0.02"
                  " --threads 1 --seed 5 --progress lines --checkpoint-dir " + checkpoints + " " + extra);
  }

  static TempDir* dir_;
};

TempDir* DataPipeline::dir_ = nullptr;

// Note [Resident images]: the images held in memory (the default for a small file) train the
// bits of the same images read from the file every batch; the start-up report says which.
TEST_F(DataPipeline, ImagesInMemoryTrainTheBitsOfImagesReadFromTheFile) {
  TempDir memory, file;
  CommandResult r = run_command(train(dir_->file("whole.h5"), memory.path(), "--stop-after 8"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("data: images in memory (0.5 MB of a "), std::string::npos) << r.output;
  r = run_command("CONVOY_DATA_MEMORY_MIB=0 " + train(dir_->file("whole.h5"), file.path(), "--stop-after 8"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("data: images read from the files every batch (0.5 MB, "), std::string::npos) << r.output;
  expect_same_parameters(read_checkpoint(memory.file("step-8.ckpt")), read_checkpoint(file.file("step-8.ckpt")));
  r = run_command("CONVOY_DATA_MEMORY_MIB=lots " + train(dir_->file("whole.h5"), file.path(), "--stop-after 8"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("CONVOY_DATA_MEMORY_MIB='lots': expected a whole number of MiB >= 0"), std::string::npos)
      << r.output;
}

// Note [Dataset parts]: the parts train the bits of one file holding them, and a checkpoint of
// the whole file resumes on the parts named by a glob.
TEST_F(DataPipeline, PartsTrainTheBitsOfTheWholeFileAndResumeAcrossIt) {
  TempDir whole, parts;
  CommandResult r = run_command(train(dir_->file("whole.h5"), whole.path(), "--stop-after 8"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  r = run_command(train(dir_->file("parts/p0.h5") + "," + dir_->file("parts/p1.h5"), parts.path(), "--stop-after 8"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("600 samples"), std::string::npos) << r.output;
  expect_same_parameters(read_checkpoint(whole.file("step-8.ckpt")), read_checkpoint(parts.file("step-8.ckpt")));

  TempDir resumed;
  r = run_command(train(dir_->file("whole.h5"), resumed.path(), "--stop-after 4"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  r = run_command(train(quoted(dir_->file("parts/*.h5")), resumed.path(), "--stop-after 8 --resume auto"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("resume: "), std::string::npos) << r.output;
  expect_same_parameters(read_checkpoint(whole.file("step-8.ckpt")), read_checkpoint(resumed.file("step-8.ckpt")));

  // convoy eval reads the parts as one too.
  r = run_command(
      convoy("eval --checkpoint " + whole.file("step-8.ckpt") + " --data " + quoted(dir_->file("parts/p*"))));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("samples=600"), std::string::npos) << r.output;
}

TEST_F(DataPipeline, PartsThatDisagreeOrAGlobMatchingNothingAreNamed) {
  TempDir ckpt;
  CommandResult r = run_command(train(dir_->file("parts/p0.h5") + "," + dir_->file("renamed.h5"), ckpt.path(), ""));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--data: dataset parts: '" + dir_->file("renamed.h5") + "' has class_names"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("Dress"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("frock"), std::string::npos) << r.output;
  r = run_command(train(quoted(dir_->file("parts/*.hdf5")), ckpt.path(), ""));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--data: '" + dir_->file("parts/*.hdf5") + "' matches no file"), std::string::npos)
      << r.output;
}

// Note [Augmentation]: the draws depend on (seed, epoch, sample), so a run stopped and resumed
// has the bits of one that never stopped; and augmentation does change what is trained.
TEST_F(DataPipeline, AugmentedRunResumesBitwiseAndDiffersFromAPlainRun) {
  TempDir once, twice, plain;
  const std::string data = dir_->file("whole.h5");
  const std::string aug = " --epochs 2 --augment flip,crop:4 --stop-after 30";
  CommandResult r = run_command(train(data, once.path(), aug));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("preprocessing: no normalization; augment flip,crop:4"), std::string::npos) << r.output;
  r = run_command(train(data, twice.path(), " --epochs 2 --augment crop:4,flip --stop-after 12"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  r = run_command(train(data, twice.path(), aug + " --resume auto"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  expect_same_parameters(read_checkpoint(once.file("step-30.ckpt")), read_checkpoint(twice.file("step-30.ckpt")));
  r = run_command(train(data, plain.path(), " --epochs 2 --stop-after 30"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  const TrainingState a = read_checkpoint(once.file("step-30.ckpt")), b = read_checkpoint(plain.file("step-30.ckpt"));
  EXPECT_NE(0, std::memcmp(a.parameters.data(), b.parameters.data(), a.parameters.size() * sizeof(float)));
  const nlohmann::json record = nlohmann::json::parse(a.preprocessing_json);
  EXPECT_EQ(record["augmentation"], "flip,crop:4");
  EXPECT_FALSE(nlohmann::json::parse(b.preprocessing_json).contains("augmentation"));

  // Resuming with another augmentation or normalisation is refused, naming both.
  r = run_command(train(data, once.path(), " --epochs 2 --augment flip --resume auto"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("was trained with no normalization; augment flip,crop:4, this run has no normalization; "
                          "augment flip"),
            std::string::npos)
      << r.output;
  r = run_command(train(data, once.path(), " --epochs 2 --augment flip,crop:4 --normalize --resume auto"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("this run has normalize mean ["), std::string::npos) << r.output;
}

TEST_F(DataPipeline, NormalizeNeedsStatisticsThatFitTheData) {
  TempDir dir;
  const std::vector<uint8_t> images(4 * 8 * 8, 7);
  const std::vector<int32_t> labels = {0, 1, 0, 1};
  write_hdf5_dataset(dir.file("bare.h5"), {4, 8, 8, 1}, images.data(), labels.data(), {});
  CommandResult r = run_command(convoy("train --data " + dir.file("bare.h5") + " --batch 2 --epochs 1 --normalize"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--normalize: --data '" + dir.file("bare.h5") + "' has no mean and std attributes"),
            std::string::npos)
      << r.output;
  r = run_command(convoy("train --data " + dir.file("bare.h5") +
                         " --batch 2 --epochs 1 --normalize --mean 0.5,0.5 --std 0.2,0.2"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--mean/--std: expected a mean and a std for each of the 1 channels, found mean [0.5,0.5]"),
            std::string::npos)
      << r.output;
  r = run_command(convoy("train --data " + dir.file("bare.h5") + " --mean 0.5 --std 0.2"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--mean requires --normalize"), std::string::npos) << r.output;
  r = run_command(convoy("train --data " + dir.file("bare.h5") + " --normalize --mean 0.5 --std zero"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--std: expected finite numbers separated by commas"), std::string::npos) << r.output;
  r = run_command(convoy("train --data " + dir.file("bare.h5") + " --augment flip,rotate"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--augment: augmentation 'rotate' in 'flip,rotate': expected flip or crop:P"),
            std::string::npos)
      << r.output;
}

// The PNG's width and height, through the project's own decoder.
std::pair<int64_t, int64_t> png_size(const std::string& path) {
  const Image image = read_image_file(path);
  return {image.height, image.width};
}

TEST_F(DataPipeline, PlotDrawsTheCurvesIntoAPngOfTheRequestedSize) {
  TempDir dir;
  std::ofstream(dir.file("metrics.jsonl"))
      << R"({"type": "step", "epoch": 1, "step": 10, "loss": 2.0, "accuracy": 0.2})" << "\n"
      << R"({"type": "epoch", "epoch": 1, "train_loss": 1.5, "train_accuracy": 0.5, "test_loss": 1.6,)"
      << R"( "test_accuracy": 0.45})" << "\n"
      << R"({"type": "epoch", "epoch": 2, "train_loss": 0.9, "train_accuracy": 0.7, "test_loss": 1.0,)"
      << R"( "test_accuracy": 0.66})" << "\n"
      << R"({"type": "epoch", "epoch": 3, "train_loss": 0.7, "train_accuracy": 0.8, "val_loss": 0.9,)"
      << R"( "val_accuracy": 0.7})" << "\n"
      << R"({"type": "test", "loss": 1.0, "accuracy": 0.66})" << "\n";
  CommandResult r =
      run_command(convoy("plot " + dir.file("metrics.jsonl") + " -o " + dir.file("curves.png") + " --size 300x500"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3 epochs"), std::string::npos) << r.output;
  EXPECT_EQ(png_size(dir.file("curves.png")), (std::pair<int64_t, int64_t>{300, 500}));
  // The default size; the file is replaced whole.
  r = run_command(convoy("plot " + dir.file("metrics.jsonl") + " -o " + dir.file("curves.png")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(png_size(dir.file("curves.png")), (std::pair<int64_t, int64_t>{480, 960}));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_TRUE(entry.path().filename() == "metrics.jsonl" || entry.path().filename() == "curves.png")
        << entry.path();

  // No epoch line, a line that is not JSON, no gnuplot, a bad size: clear errors, nothing written.
  std::ofstream(dir.file("steps.jsonl")) << R"({"type": "step", "epoch": 1, "step": 10, "loss": 2.0})" << "\n";
  r = run_command(convoy("plot " + dir.file("steps.jsonl") + " -o " + dir.file("none.png")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("metrics file '" + dir.file("steps.jsonl") + "': holds no epoch line"), std::string::npos)
      << r.output;
  std::ofstream(dir.file("broken.jsonl")) << R"({"type": "epoch", "epoch": 1, "train_loss": 1})" << "\n{oops\n";
  r = run_command(convoy("plot " + dir.file("broken.jsonl") + " -o " + dir.file("none.png")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("broken.jsonl', line 1: an epoch line needs numbers epoch, train_loss and train_accuracy"),
            std::string::npos)
      << r.output;
  r = run_command("PATH=/nonexistent " + convoy("plot " + dir.file("metrics.jsonl") + " -o " + dir.file("none.png")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("gnuplot, which was not found on PATH"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("none.png")));
  r = run_command(convoy("plot " + dir.file("metrics.jsonl") + " -o " + dir.file("none.png") + " --size 300"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--size: expected HxW"), std::string::npos) << r.output;
}

TEST_F(DataPipeline, ConvertImagesAndPredictRefuseBadArgumentsWithExitCode2) {
  const std::string folder = dir_->file("no such folder");
  const std::string images = "convert images " + folder + " -o x.h5 --size ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {images + "16x16 --color purple", "--color: expected rgb or grayscale, found 'purple'"},
      {images + "16", "--size: expected HxW"},
      {images + "0x16", "--size: expected HxW"},
      {images + "16x16 --resize-filter cubic", "--resize-filter: expected area or bilinear"},
      {images + "16x16 --val-split 1.5 --val-output v.h5", "--val-split: expected a finite number in [0"},
      {images + "16x16 --threads 0", "--threads: expected an integer in [1, "},
      {images + "16x16 --seed -3", "--seed: expected an integer in [0, "},
      {"convert idx --images a --labels b -o x.h5 --size 3x", "--size: expected HxW"},
      {"predict --checkpoint c.ckpt x.png --top-k 0", "--top-k: expected an integer in [1, "},
      {"predict --checkpoint c.ckpt x.png --batch -1", "--batch: expected an integer in [1, "},
      {"predict --checkpoint c.ckpt x.png --threads 0", "--threads: expected an integer in [1, "},
      {"predict --checkpoint c.ckpt x.png --resize-filter cubic",
       "--resize-filter: expected area or bilinear, found 'cubic'"},
  };
  for (const auto& [args, message] : cases) {
    const CommandResult r = run_command(convoy(args));
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  }
}

}  // namespace
}  // namespace convoy
