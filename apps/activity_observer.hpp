// ActivityObserver: tells the communicator how far training got, for the stall watchdog's message.
#pragma once

#include <string>

#include "distributed/communicator.hpp"
#include "distributed/training_observer.hpp"

namespace convoy {

// Forwards every report to `inner` and records the last one as the rank's activity, so a
// collective that stalls names where the run was (Note [Stall watchdog]). The trainer reports
// every --log-every steps, so the step named is the last report's, not necessarily the current.
class ActivityObserver final : public TrainingObserver {
 public:
  ActivityObserver(TrainingObserver& inner, Communicator& comm) : inner_(inner), comm_(comm) {
    comm_.set_activity("training (before the first progress report)");
  }
  void on_step(const StepReport& r) override {
    comm_.set_activity("training (last progress report: step " + std::to_string(r.global_step) + ", epoch " +
                       std::to_string(r.epoch + 1) + ")");
    inner_.on_step(r);
  }
  void on_epoch(const EpochReport& r) override {
    comm_.set_activity("training (after epoch " + std::to_string(r.epoch + 1) + ")");
    inner_.on_epoch(r);
  }

 private:
  TrainingObserver& inner_;
  Communicator& comm_;
};

}  // namespace convoy
