// Exit codes of the convoy executable, documented in the README for schedulers and scripts.
#pragma once

namespace convoy {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;      // bad input, I/O or communication failure: the message says which
constexpr int kExitUsage = 2;      // bad command line
constexpr int kExitPreempted = 3;  // stopped early (a signal, --stop-after) after writing a checkpoint: requeue and --resume auto
constexpr int kExitStoppedUnsaved = 4;  // stopped early without a checkpoint (no --checkpoint-dir): nothing saved

}  // namespace convoy
