// The Slurm batch script: SIGUSR1 to the batch shell reaches every rank, a checkpoint is
// written, the job requeues itself, and the requeued run resumes and finishes.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/run_command.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

TEST(SlurmScript, Usr1CheckpointsRequeuesAndTheNextRunResumes) {
  TempDir dir;
  testing::write_fashion_mnist_h5("train", 600, dir.file("train.h5"));
  // A stand-in for Slurm's scontrol that records how it was called.
  std::filesystem::create_directories(dir.file("bin"));
  std::ofstream(dir.file("bin/scontrol")) << "#!/bin/sh\necho \"$@\" >> " << dir.file("scontrol.log") << "\n";
  std::filesystem::permissions(dir.file("bin/scontrol"), std::filesystem::perms::owner_all);
  const std::string env = "PATH=" + dir.file("bin") + ":$PATH SLURM_SUBMIT_DIR=" + dir.path() +
                          " SLURM_JOB_ID=77 SLURM_JOB_NAME=t SLURM_CPUS_PER_TASK=1 OMPI_ALLOW_RUN_AS_ROOT=1"
                          " OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 CONVOY=" +
                          std::string(CONVOY_BINARY) + " DATA=" + dir.file("train.h5") + " TEST=" +
                          dir.file("train.h5") + " CKPT=" + dir.file("ckpt");
  const std::string script = std::string(CONVOY_SOURCE_DIR) + "/cluster/slurm/train.sbatch";
  const std::string args = " CONVOY_EXTRA_ARGS='--model lenet5 --batch 30 --checkpoint-every 2 --progress lines";

  // Any checkpoint will do: with --keep 3 a given one lives only a few milliseconds.
  const auto has_checkpoint = [&] {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir.file("ckpt"), ec))
      if (entry.path().extension() == ".ckpt") return true;
    return false;
  };
  std::thread signaller([&] {
    for (int i = 0; i < 3000 && !has_checkpoint(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    run_command("kill -USR1 $(cat " + dir.file("batch.pid") + ")");
  });
  const CommandResult first =
      run_command("cd " + dir.path() + " && " + env + args + " --epochs 200' bash -c 'echo $$ > " +
                  dir.file("batch.pid") + "; exec bash " + script + "'");
  signaller.join();
  EXPECT_EQ(first.exit_code, 3) << first.output;
  EXPECT_NE(first.output.find("forwarding SIGUSR1"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("requeueing job 77"), std::string::npos) << first.output;
  std::ifstream log(dir.file("scontrol.log"));
  std::string line;
  std::getline(log, line);
  EXPECT_EQ(line, "requeue 77");

  // The requeued job: same script, resumes from the newest checkpoint and finishes.
  const CommandResult second = run_command("cd " + dir.path() + " && " + env + args + " --epochs 1' bash " + script);
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("resume: " + dir.file("ckpt/step-")), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("training finished"), std::string::npos) << second.output;
}

}  // namespace
}  // namespace convoy
