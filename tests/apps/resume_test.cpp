// Checkpoint and resume end to end: a stopped and resumed run equals one that never stopped.
#include <gtest/gtest.h>

#include <signal.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "io/checkpoint.hpp"
#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/run_command.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

class Resume : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::write_fashion_mnist_h5("train", 1500, dir_->file("train.h5"));
  }
  static void TearDownTestSuite() { delete dir_; }

  // 1500 samples, batch 50: 30 steps an epoch, 60 in all.
  static std::string train(const std::string& checkpoints, const std::string& extra) {
    return std::string(CONVOY_BINARY) + " train --data " + dir_->file("train.h5") +
           " --model lenet5 --epochs 2 --batch 50 --optimizer sgd --momentum 0.9 --lr 0.05 --threads 2 --seed 4"
           " --progress lines --checkpoint-dir " + checkpoints + " " + extra;
  }

  static TempDir* dir_;
};

TempDir* Resume::dir_ = nullptr;

void expect_same_state(const TrainingState& a, const TrainingState& b) {
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  EXPECT_EQ(0, std::memcmp(a.parameters.data(), b.parameters.data(), a.parameters.size() * sizeof(float)))
      << "parameters differ";
  ASSERT_EQ(a.optimizer_buffers.size(), b.optimizer_buffers.size());
  for (size_t i = 0; i < a.optimizer_buffers.size(); ++i)
    EXPECT_EQ(a.optimizer_buffers[i].second, b.optimizer_buffers[i].second) << a.optimizer_buffers[i].first;
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.optimizer_step, b.optimizer_step);
}

TEST_F(Resume, StoppedMidEpochAndResumedEqualsUninterruptedBitwise) {
  TempDir once, twice;
  const CommandResult full = run_command(train(once.path(), ""));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const CommandResult stopped = run_command(train(twice.path(), "--stop-after 17"));
  ASSERT_EQ(stopped.exit_code, 3) << stopped.output;  // preempted: requeue and resume
  ASSERT_TRUE(std::filesystem::exists(twice.file("step-17.ckpt"))) << stopped.output;
  const CommandResult resumed = run_command(train(twice.path(), "--resume auto"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resume: " + twice.file("step-17.ckpt")), std::string::npos) << resumed.output;
  expect_same_state(read_checkpoint(once.file("step-60.ckpt")), read_checkpoint(twice.file("step-60.ckpt")));
}

// Adam's moments and step count (its bias corrections) and the schedule's position survive a
// resume: stopped in the second epoch, after the rate has halved once, it ends with the bits of
// the uninterrupted run.
TEST_F(Resume, AdamWithWeightDecayAndAStepScheduleResumesBitwise) {
  TempDir once, twice;
  const std::string adam = "--optimizer adam --momentum 0 --lr 2e-3 --weight-decay 1e-4 --lr-step 1 --lr-gamma 0.5 ";
  const CommandResult full = run_command(train(once.path(), adam));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const CommandResult stopped = run_command(train(twice.path(), adam + "--stop-after 37"));
  ASSERT_EQ(stopped.exit_code, 3) << stopped.output;
  const CommandResult resumed = run_command(train(twice.path(), adam + "--resume auto"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resume: " + twice.file("step-37.ckpt")), std::string::npos) << resumed.output;
  const TrainingState a = read_checkpoint(once.file("step-60.ckpt")), b = read_checkpoint(twice.file("step-60.ckpt"));
  ASSERT_EQ(a.optimizer_buffers.size(), 2u) << "Adam keeps two moments";
  EXPECT_EQ(a.optimizer_step, 60);
  expect_same_state(a, b);
}

// A checkpoint whose checksums verify but whose recorded settings are not JSON (written by
// another program, or a bug): the message names the checkpoint and the record, not the JSON
// library's bare exception.
TEST_F(Resume, CheckpointWithSettingsThatAreNotJsonIsNamed) {
  TempDir ckpt;
  ASSERT_EQ(run_command(train(ckpt.path(), "--stop-after 1")).exit_code, 3);
  TrainingState state = read_checkpoint(ckpt.file("step-1.ckpt"));
  state.optimizer_json = "{\"type\": \"sgd\",";
  write_checkpoint(ckpt.file("step-1.ckpt"), state);
  const CommandResult r = run_command(train(ckpt.path(), "--resume " + ckpt.file("step-1.ckpt")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("convoy: error: checkpoint '" + ckpt.file("step-1.ckpt") +
                          "': its recorded optimizer settings are not JSON ("),
            std::string::npos)
      << r.output;
}

// Starts `cmd` (a shell command that writes the pid of convoy to `pid_file`), sends it `signals`
// 0.3 s apart once `ready` exists, and returns what it printed and its exit code.
CommandResult run_and_signal(const std::string& cmd, const std::string& pid_file, const std::string& ready,
                             const std::vector<int>& signals) {
  std::thread killer([&] {
    for (int i = 0; i < 2000 && !std::filesystem::exists(ready); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    pid_t pid = 0;
    if (FILE* f = std::fopen(pid_file.c_str(), "r")) {
      if (std::fscanf(f, "%d", &pid) != 1) pid = 0;
      std::fclose(f);
    }
    for (int signum : signals) {
      if (pid > 0) kill(pid, signum);
      // Apart, so each is delivered on its own: signals of one kind pending together merge into one.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  });
  CommandResult r = run_command(cmd);
  killer.join();
  return r;
}

TEST_F(Resume, RepeatedUsr1StaysOneCheckpointRequest) {
  TempDir dir;
  const std::string pid_file = dir.file("pid");
  const CommandResult r = run_and_signal(
      "(" + train(dir.path(), "--epochs 6 --checkpoint-every 1") + " & echo $! > " + pid_file + "; wait $!)", pid_file,
      dir.file("step-3.ckpt"), {SIGUSR1, SIGUSR1, SIGUSR1});
  ASSERT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("stopped by signal"), std::string::npos) << r.output;
}

TEST_F(Resume, SignalWritesACheckpointAndResumingFinishesTheSameRun) {
  TempDir once, twice;
  ASSERT_EQ(run_command(train(once.path(), "--epochs 6")).exit_code, 0);
  // SIGUSR1 (Slurm's --signal) once training is under way, as a scheduler would send it.
  const std::string pid_file = twice.file("pid");
  const CommandResult stopped = run_and_signal(
      "(" + train(twice.path(), "--epochs 6 --checkpoint-every 1") + " & echo $! > " + pid_file + "; wait $!)",
      pid_file, twice.file("step-3.ckpt"), {SIGUSR1});
  ASSERT_EQ(stopped.exit_code, 3) << stopped.output;
  EXPECT_NE(stopped.output.find("stopped by signal"), std::string::npos) << stopped.output;
  const CommandResult resumed = run_command(train(twice.path(), "--epochs 6 --resume auto"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  expect_same_state(read_checkpoint(once.file("step-180.ckpt")), read_checkpoint(twice.file("step-180.ckpt")));
}

TEST_F(Resume, KillNineLeavesOnlyValidCheckpointsAndResumeFinishesTheSameRun) {
  TempDir once, twice;
  ASSERT_EQ(run_command(train(once.path(), "--epochs 4")).exit_code, 0);
  // Checkpoints every step, so the kill very likely lands inside a write.
  const std::string pid_file = twice.file("pid");
  std::thread killer([&] {
    for (int i = 0; i < 2000 && !std::filesystem::exists(twice.file("step-7.ckpt")); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    run_command("kill -9 $(cat " + pid_file + ")");
  });
  const CommandResult killed = run_command("(" + train(twice.path(), "--epochs 4 --checkpoint-every 1 --keep 100") +
                                           " & echo $! > " + pid_file + "; wait $!)");
  killer.join();
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.output;
  int valid = 0;
  for (const auto& entry : std::filesystem::directory_iterator(twice.path())) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) != 0) continue;  // temporary files of the interrupted write
    EXPECT_NO_THROW(read_checkpoint(entry.path().string())) << name;
    ++valid;
  }
  EXPECT_GE(valid, 7);
  const CommandResult resumed = run_command(train(twice.path(), "--epochs 4 --resume auto"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  expect_same_state(read_checkpoint(once.file("step-120.ckpt")), read_checkpoint(twice.file("step-120.ckpt")));
}

TEST_F(Resume, ChangedSettingsThatMatterAreRefused) {
  TempDir ckpt;
  ASSERT_EQ(run_command(train(ckpt.path(), "--stop-after 5")).exit_code, 3);
  for (const auto& [args, message] :
       {std::pair<std::string, std::string>{"--resume auto --batch 60", "global batch 50, this run asks for 60"},
        {"--resume auto --seed 5", "--seed 4"},
        {"--resume auto --optimizer adam", "--optimizer sgd"},
        {"--resume auto --model keras-cnn", "another model"},
        {"--resume auto --momentum 0.8", "momentum: 0.9 -> 0.8"},
        {"--resume auto --weight-decay 0.001", "weight_decay: 0 -> 0.001"},
        {"--resume " + ckpt.file("missing.ckpt"), "missing.ckpt"}}) {
    const CommandResult r = run_command(train(ckpt.path(), args));
    EXPECT_EQ(r.exit_code, 1) << args << ": " << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << ": " << r.output;
  }
  // Another dataset of the same size and classes: other labels.
  testing::write_fashion_mnist_h5("t10k", 1500, ckpt.file("other.h5"));
  std::string other = train(ckpt.path(), "--resume auto");
  other.replace(other.find(dir_->file("train.h5")), dir_->file("train.h5").size(), ckpt.file("other.h5"));
  const CommandResult r = run_command(other);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("was trained on another dataset of 1500 samples"), std::string::npos) << r.output;
  // Settings that may change (epochs to run) are accepted.
  EXPECT_EQ(run_command(train(ckpt.path(), "--resume auto --epochs 1")).exit_code, 0);
}

TEST_F(Resume, CorruptNewestCheckpointIsSkippedWithAWarning) {
  TempDir ckpt;
  ASSERT_EQ(run_command(train(ckpt.path(), "--stop-after 10 --checkpoint-every 5")).exit_code, 3);
  // A byte flipped in the newest checkpoint: --resume auto warns and takes step 5.
  {
    std::FILE* f = std::fopen(ckpt.file("step-10.ckpt").c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 2000, SEEK_SET);
    const int c = std::fgetc(f);
    std::fseek(f, 2000, SEEK_SET);
    std::fputc(c ^ 0xff, f);
    std::fclose(f);
  }
  const CommandResult r = run_command(train(ckpt.path(), "--resume auto --stop-after 12"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("warning"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("resume: " + ckpt.file("step-5.ckpt")), std::string::npos) << r.output;
}

TEST_F(Resume, CheckpointsKeepTheUsualFileModeAndInspectDescribesThem) {
  TempDir ckpt;
  ASSERT_EQ(run_command("umask 022; " + train(ckpt.path(), "--stop-after 3")).exit_code, 3);
  struct stat st {};
  ASSERT_EQ(stat(ckpt.file("step-3.ckpt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  const CommandResult inspect = run_command(std::string(CONVOY_BINARY) + " inspect " + ckpt.file("step-3.ckpt"));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  for (const char* field : {"format version", "step: 3", "model: lenet5", "world size: 1", "parameters xxh64"})
    EXPECT_NE(inspect.output.find(field), std::string::npos) << field << "\n" << inspect.output;
  const CommandResult eval = run_command(std::string(CONVOY_BINARY) + " eval --checkpoint " + ckpt.file("step-3.ckpt") +
                                         " --data " + dir_->file("train.h5"));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("test: loss="), std::string::npos) << eval.output;
}

// --resume auto reads the folder's newest checkpoint: a FIFO of that name is passed over.
TEST_F(Resume, ResumeAutoPassesOverAFifoNamedLikeACheckpoint) {
  TempDir ckpt;
  ASSERT_EQ(run_command(train(ckpt.path(), "--stop-after 2")).exit_code, 3);
  ASSERT_EQ(run_command("mkfifo " + ckpt.file("step-9.ckpt")).exit_code, 0);
  const CommandResult r = run_command("timeout 20 " + train(ckpt.path(), "--resume auto --stop-after 3"));
  EXPECT_EQ(r.exit_code, 3) << r.output;  // 124: blocked reading the FIFO
  EXPECT_NE(r.output.find("resume: " + ckpt.file("step-2.ckpt")), std::string::npos) << r.output;
}

// A checkpoint folder nothing can be written to is found before the first step, not at the
// first checkpoint (as root a chmod does not stop writes: /proc refuses files to everyone).
TEST_F(Resume, UnwritableCheckpointFolderIsRefusedAtStart) {
  TempDir dir;
  std::ofstream(dir.file("a-file")) << "not a folder";
  for (const std::string& folder : {std::string("/proc"), dir.file("a-file")}) {
    const CommandResult r = run_command(train(folder, "--epochs 1"));
    EXPECT_EQ(r.exit_code, 1) << folder << ": " << r.output;
    EXPECT_NE(r.output.find("--checkpoint-dir: folder '" + folder + "': "), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("step "), std::string::npos) << "trained before refusing\n" << r.output;
  }
}

// Temporaries of killed checkpoint writes are removed at start; other files stay.
TEST_F(Resume, StaleCheckpointTemporariesAreRemovedAtStart) {
  TempDir ckpt;
  for (const char* name : {".step-7.ckpt.tmp-99999", ".step-12.ckpt.tmp-1", ".notes.txt.tmp-5", "notes.txt"})
    std::ofstream(ckpt.file(name)) << "x";
  const CommandResult r = run_command(train(ckpt.path(), "--stop-after 1"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("removed " + ckpt.file(".step-7.ckpt.tmp-99999")), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(ckpt.file(".step-7.ckpt.tmp-99999")));
  EXPECT_FALSE(std::filesystem::exists(ckpt.file(".step-12.ckpt.tmp-1")));
  EXPECT_TRUE(std::filesystem::exists(ckpt.file(".notes.txt.tmp-5")));
  EXPECT_TRUE(std::filesystem::exists(ckpt.file("notes.txt")));
  EXPECT_TRUE(std::filesystem::exists(ckpt.file("step-1.ckpt")));
}

// Two runs sharing a checkpoint folder would prune and resume each other's checkpoints.
TEST_F(Resume, SecondRunOnALockedCheckpointFolderIsRefused) {
  TempDir ckpt;
  const std::string lock = ckpt.file(".convoy.lock");
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  const std::string holder = "pid 4242 on testhost\n";
  ASSERT_EQ(::write(fd, holder.data(), holder.size()), static_cast<ssize_t>(holder.size()));
  const CommandResult refused = run_command(train(ckpt.path(), "--stop-after 1"));
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("--checkpoint-dir: folder '" + ckpt.path() +
                                "' is in use by another convoy run (pid 4242 on testhost, lock file '" + lock + "')"),
            std::string::npos)
      << refused.output;
  EXPECT_FALSE(std::filesystem::exists(ckpt.file("step-1.ckpt")));
  ::close(fd);  // released: the next run may use the folder
  const CommandResult after = run_command(train(ckpt.path(), "--stop-after 1"));
  EXPECT_EQ(after.exit_code, 3) << after.output;
}

// Runs convoy with SIGUSR1 blocked and already pending, as a parent that blocked it might
// start it: the signal reaches convoy during start-up, as soon as it can take it.
CommandResult run_with_pending_usr1(const std::string& args) {
  std::vector<std::string> words;
  std::istringstream in(args);
  for (std::string w; in >> w;) words.push_back(w);
  std::vector<char*> argv;
  std::string binary = CONVOY_BINARY;
  argv.push_back(binary.data());
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  TempDir out;
  const std::string log = out.file("log");
  const pid_t pid = ::fork();
  if (pid == 0) {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, nullptr);
    ::raise(SIGUSR1);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream text(log);
  r.output.assign(std::istreambuf_iterator<char>(text), {});
  return r;
}

std::string train_args(const std::string& extra) {
  return " train --model lenet5 --epochs 2 --batch 50 --threads 1 --progress lines " + extra;
}

TEST_F(Resume, SignalDuringStartUpStopsAfterTheFirstStepWithTheDocumentedCode) {
  TempDir ckpt;
  const CommandResult saved =
      run_with_pending_usr1(train_args("--data " + dir_->file("train.h5") + " --checkpoint-dir " + ckpt.path()));
  EXPECT_EQ(saved.exit_code, 3) << saved.output;
  EXPECT_NE(saved.output.find("stopped by signal 10 (SIGUSR1) on rank 0 at step 1; checkpoint " + ckpt.file("step-1.ckpt")),
            std::string::npos)
      << saved.output;
  EXPECT_TRUE(std::filesystem::exists(ckpt.file("step-1.ckpt")));
  // Without a checkpoint folder: said so, and another code (requeueing would start over).
  const CommandResult unsaved = run_with_pending_usr1(train_args("--data " + dir_->file("train.h5")));
  EXPECT_EQ(unsaved.exit_code, 4) << unsaved.output;
  EXPECT_NE(unsaved.output.find("stopped by signal 10 (SIGUSR1) on rank 0 at step 1; no checkpoint (no --checkpoint-dir): "
                                "nothing saved"),
            std::string::npos)
      << unsaved.output;
}

TEST_F(Resume, Usr1WithoutCheckpointFolderStopsWithCode4) {
  TempDir dir;
  const std::string pid_file = dir.file("pid"), metrics = dir.file("metrics.jsonl");
  std::thread signaller([&] {
    for (int i = 0; i < 2000 && !std::filesystem::exists(metrics); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    run_command("kill -USR1 $(cat " + pid_file + ")");
  });
  const CommandResult r = run_command("(" + std::string(CONVOY_BINARY) + train_args("--data " + dir_->file("train.h5")) +
                                      " --epochs 200 --log-every 1 --metrics " + metrics + " & echo $! > " + pid_file +
                                      "; wait $!)");
  signaller.join();
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("stopped by signal 10 (SIGUSR1) on rank 0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nothing saved"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace convoy
