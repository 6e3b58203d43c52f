// End-to-end tests of `convoy convert` and `convoy train` on slices of the real Fashion-MNIST.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "io/checkpoint.hpp"
#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/run_command.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

class TrainCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::write_fashion_mnist_h5("train", 4000, dir_->file("train.h5"));
    testing::write_fashion_mnist_h5("t10k", 1000, dir_->file("test.h5"));
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string train(const std::string& args, const std::string& data = "") {
    return std::string(CONVOY_BINARY) + " train --data " + (data.empty() ? dir_->file("train.h5") : data) +
           " --progress lines " + args;
  }

  static TempDir* dir_;
};

TempDir* TrainCommand::dir_ = nullptr;

double test_accuracy(const std::string& output) {
  std::smatch m;
  const std::regex summary(R"(test: loss=([0-9.]+) accuracy=([0-9.]+)%)");
  if (!std::regex_search(output, m, summary)) return -1.0;
  return std::stod(m[2]);
}

// The convergence test: a small slice of real data, a few seconds of training.
TEST_F(TrainCommand, LearnsFashionMnistSlice) {
  const CommandResult r = run_command(train("--test " + dir_->file("test.h5") +
                                            " --model keras-cnn --epochs 2 --batch 32 --optimizer adam --lr 2e-3"
                                            " --threads 2 --seed 3"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("epoch 2/2: train loss="), std::string::npos) << r.output;
  const double accuracy = test_accuracy(r.output);
  EXPECT_GE(accuracy, 72.0) << r.output;  // chance is 10%; this slice reaches ~78%
}

TEST_F(TrainCommand, SameSeedAndThreadsGiveTheSameRun) {
  const std::string cmd = train("--test " + dir_->file("test.h5") + " --model lenet5 --epochs 1 --batch 50"
                                " --optimizer sgd --lr 0.05 --threads 2 --seed 9 --metrics ");
  const CommandResult a = run_command(cmd + dir_->file("a.jsonl"));
  const CommandResult b = run_command(cmd + dir_->file("b.jsonl"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(b.exit_code, 0) << b.output;
  auto losses = [](const std::string& path) {
    std::ifstream in(path);
    std::string line, all;
    // Times differ between runs (images/s, waits, seconds, each rank's times); everything derived
    // from the weights may not.
    const std::regex speed(R"("images_per_second":[0-9.eE+-]+,?)"), wait(R"("allreduce_wait_share":[0-9.eE+-]+,?)"),
        seconds(R"("seconds":[0-9.eE+-]+,?)"), ranks(R"("ranks":\[[^\]]*\],?)");
    while (std::getline(in, line)) {
      for (const std::regex* timing : {&speed, &wait, &seconds, &ranks}) line = std::regex_replace(line, *timing, "");
      all += line + "\n";
    }
    return all;
  };
  const std::string la = losses(dir_->file("a.jsonl"));
  EXPECT_FALSE(la.empty());
  EXPECT_EQ(la, losses(dir_->file("b.jsonl")));
}

struct BadInput {
  const char* name;
  std::string args;
  std::string expected_in_message;
  std::string data = "";
};

TEST_F(TrainCommand, BadInputGetsOneClearLineAndNonZeroExit) {
  const std::vector<BadInput> cases = {
      {"missing file", "", "nope.h5", dir_->file("nope.h5")},
      {"batch larger than the dataset", " --batch 5000", "larger than the training set"},
      {"unknown model", " --model resnet-9000", "resnet-9000"},
  };
  for (const BadInput& c : cases) {
    const CommandResult r = run_command(train("--epochs 1" + c.args, c.data));
    EXPECT_EQ(r.exit_code, 1) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find(c.expected_in_message), std::string::npos) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find("convoy: error: "), std::string::npos) << c.name << ": " << r.output;
    EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << c.name << ": " << r.output;
  }
}

// Opening a FIFO blocks until something writes to it: every input path is checked first.
TEST_F(TrainCommand, NonRegularInputsAreRefusedNamingTheOptionAndWhatTheyAre) {
  TempDir dir;
  ASSERT_EQ(run_command("mkfifo " + dir.file("fifo") + " " + dir.file("fifo.json")).exit_code, 0);
  const std::string fifo = dir.file("fifo");
  const std::string convoy = "timeout 10 " + std::string(CONVOY_BINARY);
  const std::string train_cmd = convoy + " train --model lenet5 --epochs 1 --batch 20 --progress lines --data ";
  const std::string data = dir_->file("train.h5");
  struct Case {
    std::string command, expected;
  };
  const std::vector<Case> cases = {
      {train_cmd + fifo, "--data: HDF5 dataset '" + fifo + "': expected a regular file, found a FIFO"},
      {train_cmd + dir.path(), "--data: HDF5 dataset '" + dir.path() + "': expected a regular file, found a folder"},
      {train_cmd + data + " --test " + fifo, "--test: HDF5 dataset '" + fifo + "': expected a regular file, found a FIFO"},
      {train_cmd + data + " --model " + dir.file("fifo.json"),
       "--model: model file '" + dir.file("fifo.json") + "': expected a regular file, found a FIFO"},
      {train_cmd + data + " --resume " + fifo, "--resume '" + fifo + "': expected a regular file, found a FIFO"},
      {train_cmd + data + " --init-weights " + fifo,
       "--init-weights '" + fifo + "': expected a regular file, found a FIFO"},
      {train_cmd + data + " --resume " + dir.path(), "--resume '" + dir.path() + "': expected a regular file, found a folder"},
      {convoy + " eval --data " + data + " --checkpoint " + fifo,
       "--checkpoint '" + fifo + "': expected a regular file, found a FIFO"},
      {convoy + " inspect " + fifo, "checkpoint '" + fifo + "': expected a regular file, found a FIFO"},
  };
  for (const Case& c : cases) {
    const CommandResult r = run_command(c.command);
    EXPECT_EQ(r.exit_code, 1) << c.command << "\n" << r.output;  // 124: blocked on the FIFO
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.command << "\n" << r.output;
  }
}

// The loss turns NaN between two logged steps: the run stops at once, on the step it happened,
// and no checkpoint is written from the diverged state.
TEST_F(TrainCommand, DivergenceBetweenLoggedStepsStopsWithOnlyFiniteCheckpoints) {
  TempDir ckpt;
  const CommandResult r = run_command(train("--model lenet5 --epochs 1 --batch 20 --optimizer sgd --lr 1e30"
                                            " --log-every 1000 --checkpoint-every 1 --keep 1000 --threads 1"
                                            " --checkpoint-dir " + ckpt.path()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("training diverged: the loss on rank 0 is not finite"), std::string::npos) << r.output;
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ckpt.path())) {
    if (entry.path().extension() != ".ckpt") continue;
    const TrainingState s = read_checkpoint(entry.path().string());
    EXPECT_TRUE(std::all_of(s.parameters.begin(), s.parameters.end(), [](float p) { return std::isfinite(p); }))
        << entry.path();
    ++checked;
  }
  EXPECT_LT(checked, 10) << "the run went on for " << checked << " steps after diverging";
}

// Without class_names the class count is given (--classes, a model file), never guessed from the
// largest label; a label outside the given count is named by its index.
TEST_F(TrainCommand, ClassCountComesFromNamesOrIsGivenAndLabelsOutsideItAreNamed) {
  TempDir dir;
  const std::string data = dir.file("unnamed.h5");
  const CommandResult converted =
      run_command(std::string(CONVOY_BINARY) + " convert idx --class-names none --images " +
                  dir_->file("test.h5.images") + " --labels " + dir_->file("test.h5.labels") + " -o " + data);
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  std::ofstream(dir.file("five.json")) << R"({"name": "five", "input": [1, 28, 28], "classes": 5, "layers": [
      {"type": "flatten", "name": "f"}, {"type": "dense", "name": "d", "options": {"units": 5}}]})";
  for (const std::string& model : {"--model " + dir.file("five.json"), std::string("--model lenet5 --classes 5")}) {
    const CommandResult r = run_command(train("--epochs 0 " + model, data));
    EXPECT_EQ(r.exit_code, 1) << model << ": " << r.output;
    EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(--data: HDF5 dataset '.*unnamed.h5': /labels\[[0-9]+\] = [5-9] is outside \[0, 5\))")))
        << model << ": " << r.output;
  }
  const CommandResult twelve = run_command(train("--epochs 0 --model lenet5 --classes 12", data));
  EXPECT_EQ(twelve.exit_code, 0) << twelve.output;
  EXPECT_NE(twelve.output.find("12 classes"), std::string::npos) << twelve.output;
  const CommandResult unstated = run_command(train("--epochs 0 --model lenet5", data));
  EXPECT_EQ(unstated.exit_code, 1) << unstated.output;
  EXPECT_NE(unstated.output.find("convoy: error: --data '" + data +
                                 "': /labels has no class_names attribute, so the number of classes is not known: "
                                 "give --classes N"),
            std::string::npos)
      << unstated.output;
}

// A --test set the model cannot read is refused at start, naming --test and the file, instead of
// failing at the first evaluation after an epoch of training.
TEST_F(TrainCommand, TestSetOfAnotherShapeIsRefusedBeforeTraining) {
  TempDir dir;
  const CommandResult converted = run_command(
      std::string(CONVOY_BINARY) + " convert idx --size 14x14 --images " + dir_->file("test.h5.images") + " --labels " +
      dir_->file("test.h5.labels") + " --class-names fashion-mnist -o " + dir.file("small.h5"));
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  const CommandResult r = run_command(train("--model lenet5 --epochs 1 --batch 500 --test " + dir.file("small.h5")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("convoy: error: --test '" + dir.file("small.h5") +
                          "': samples are [1, 14, 14], the model expects [1, 28, 28]"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("epoch 1/1"), std::string::npos) << "trained before refusing\n" << r.output;
}

// std::bad_alloc says what was being done.
TEST_F(TrainCommand, OutOfMemoryNamesWhatWasBeingDone) {
  TempDir dir;
  std::ofstream(dir.file("huge.json")) << R"({"name": "huge", "input": [1, 28, 28], "classes": 10, "layers": [
      {"type": "flatten", "name": "f"}, {"type": "dense", "name": "d1", "options": {"units": 1000000000000}},
      {"type": "dense", "name": "d2", "options": {"units": 10}}]})";
  const CommandResult r = run_command(train("--epochs 1 --model " + dir.file("huge.json")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("convoy: error: out of memory while building the model '" + dir.file("huge.json") +
                          "' for batches of 64 samples a rank"),
            std::string::npos)
      << r.output;
}

// The memory a batch needs is estimated before its buffers are made: more than is available is
// an error naming --batch and what it would take, not an allocator failure mid-way.
TEST_F(TrainCommand, ABatchThatCannotFitIsRefusedBeforeTraining) {
  const CommandResult r = run_command("CONVOY_MEMORY_MIB=1 " + train("--epochs 1 --batch 600"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("convoy: error: --batch 600: training needs at least "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("more than the 1 MiB available (CONVOY_MEMORY_MIB or the machine's); lower --batch"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("epoch 1"), std::string::npos) << r.output;
  // The same run fits in what the machine has.
  EXPECT_EQ(run_command("CONVOY_MEMORY_MIB=4096 " + train("--epochs 1 --batch 600")).exit_code, 0);
}

// A bad command line is a usage error: exit code 2 and a message naming the option, the
// accepted values and what was given. Nothing is silently wrapped, rounded or defaulted.
TEST_F(TrainCommand, BadNumbersAndWordsAreUsageErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--seed -1", "--seed: expected an integer in [0, 18446744073709551615], found '-1'"},
      {"--seed 18446744073709551616", "--seed: expected an integer in [0, 18446744073709551615], found '18446744073709551616'"},
      {"--seed 1e23", "--seed: expected an integer in [0, 18446744073709551615], found '1e23'"},
      {"--seed 0x10", "--seed: expected an integer in [0, 18446744073709551615], found '0x10'"},
      {"--batch 0", "--batch: expected an integer in [1, 2147483648], found '0'"},
      {"--batch 99999999999999999999", "--batch: expected an integer in [1, 2147483648], found '99999999999999999999'"},
      {"--epochs -1", "--epochs: expected an integer in [0, 9223372036854775807], found '-1'"},
      {"--threads 0", "--threads: expected an integer in [1, 4096], found '0'"},
      {"--log-every 0", "--log-every: expected an integer in [1, 9223372036854775807], found '0'"},
      {"--bucket-kib 0", "--bucket-kib: expected an integer in [1, 1073741824], found '0'"},
      {"--checkpoint-every -5", "--checkpoint-every: expected an integer in [0, 9223372036854775807], found '-5'"},
      {"--stop-after -1", "--stop-after: expected an integer in [0, 9223372036854775807], found '-1'"},
      {"--keep 0", "--keep: expected an integer in [1, 2147483647], found '0'"},
      {"--lr-step -1", "--lr-step: expected an integer in [0, 9223372036854775807], found '-1'"},
      {"--lr -0.1", "--lr: expected a finite number in (0.0, 1.7976931348623157e+308], found '-0.1'"},
      {"--lr nan", "--lr: expected a finite number in (0.0, 1.7976931348623157e+308], found 'nan'"},
      {"--lr inf", "--lr: expected a finite number in (0.0, 1.7976931348623157e+308], found 'inf'"},
      {"--momentum 1", "--momentum: expected a finite number in [0.0, 1.0), found '1'"},
      {"--weight-decay -1", "--weight-decay: expected a finite number in [0.0, 1.7976931348623157e+308], found '-1'"},
      {"--lr-gamma 0", "--lr-gamma: expected a finite number in (0.0, 1.0], found '0'"},
      {"--optimizer rmsprop", "--optimizer: expected sgd or adam, found 'rmsprop'"},
      {"--progress fancy", "--progress: expected auto, bar or lines, found 'fancy'"},
      {"--reduction ring", "--reduction: expected ordered or mpi, found 'ring'"},
      {"--resume auto", "--resume auto needs --checkpoint-dir"},
      {"--optimizer adam --nesterov", "--nesterov needs --momentum > 0"},
  };
  for (const auto& [args, expected] : cases) {
    const CommandResult r = run_command(train("--epochs 1 " + args));
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << args << ": " << r.output;
  }
  const std::string eval = std::string(CONVOY_BINARY) + " eval --checkpoint x.ckpt --data " + dir_->file("test.h5");
  for (const auto& [args, expected] :
       std::vector<std::pair<std::string, std::string>>{{" --batch 0", "--batch: expected an integer in [1, 2147483648], found '0'"},
                                                        {" --threads -1", "--threads: expected an integer in [1, 4096], found '-1'"}}) {
    const CommandResult r = run_command(eval + args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << args << ": " << r.output;
  }
}

TEST(ConvertCommand, RejectsBadIdxFilesNamingThem) {
  TempDir dir;
  testing::write_fashion_mnist_slice("t10k", 10, dir.file("images"), dir.file("labels"));
  const std::string convoy = std::string(CONVOY_BINARY) + " convert idx";
  // Truncated image file.
  {
    std::ifstream in(dir.file("images"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir.file("short"), std::ios::binary) << bytes.substr(0, bytes.size() - 100);
    std::ofstream(dir.file("magic"), std::ios::binary) << std::string("\x00\x00\x09\x03", 4) << bytes.substr(4);
  }
  const CommandResult truncated =
      run_command(convoy + " --images " + dir.file("short") + " --labels " + dir.file("labels") + " -o " + dir.file("x.h5"));
  EXPECT_EQ(truncated.exit_code, 1) << truncated.output;
  EXPECT_NE(truncated.output.find(dir.file("short")), std::string::npos) << truncated.output;
  const CommandResult magic =
      run_command(convoy + " --images " + dir.file("magic") + " --labels " + dir.file("labels") + " -o " + dir.file("x.h5"));
  EXPECT_EQ(magic.exit_code, 1) << magic.output;
  EXPECT_NE(magic.output.find(dir.file("magic")), std::string::npos) << magic.output;
  const CommandResult mismatch =
      run_command(convoy + " --images " + dir.file("images") + " --labels " + dir.file("images") + " -o " + dir.file("x.h5"));
  EXPECT_EQ(mismatch.exit_code, 1) << mismatch.output;
  const CommandResult missing =
      run_command(convoy + " --images " + dir.file("absent") + " --labels " + dir.file("labels") + " -o " + dir.file("x.h5"));
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("absent"), std::string::npos) << missing.output;
  EXPECT_FALSE(std::ifstream(dir.file("x.h5")).good()) << "a failed conversion left a file behind";
}

// convert builds its output under a hidden per-process name: a user's "<output>.tmp" is theirs.
TEST(ConvertCommand, LeavesAFileNamedLikeTheOldTemporaryAlone) {
  TempDir dir;
  testing::write_fashion_mnist_slice("t10k", 10, dir.file("images"), dir.file("labels"));
  std::ofstream(dir.file("out.h5.tmp")) << "my notes";
  const CommandResult r = run_command(std::string(CONVOY_BINARY) + " convert idx --images " + dir.file("images") +
                                      " --labels " + dir.file("labels") + " -o " + dir.file("out.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir.file("out.h5.tmp"));
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "my notes");
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"images", "labels", "out.h5", "out.h5.tmp"}));
}

TEST(ConvoyCli, EverySubcommandHasHelp) {
  for (const char* sub : {"train", "convert", "convert idx"}) {
    const CommandResult r = run_command(std::string(CONVOY_BINARY) + " " + sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub << ": " << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub;
  }
  const CommandResult none = run_command(std::string(CONVOY_BINARY) + " train --epochs 1");
  EXPECT_EQ(none.exit_code, 2) << none.output;  // --data is required: a usage error
}

}  // namespace
}  // namespace convoy
