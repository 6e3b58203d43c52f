#include "io/loader.hpp"

#include <utility>

#include "core/error.hpp"

namespace convoy {

Loader::Loader(Hdf5Dataset dataset, const LoaderOptions& options) : Loader(DatasetParts(std::move(dataset)), options) {}

Loader::Loader(DatasetParts dataset, const LoaderOptions& options)
    : dataset_(std::move(dataset)), info_(dataset_.info()), options_(options) {
  CONVOY_CHECK(options.prefetch_depth >= 1, ConfigError, "Loader for ", dataset_.describe(),
               ": expected prefetch_depth >= 1, found ", options.prefetch_depth);
  if (options_.normalization.active())
    options_.normalization.validate(info_.sample[0], "normalisation of " + dataset_.describe());
  scratch_.resize(static_cast<size_t>(info_.sample[2]));
  slots_.resize(static_cast<size_t>(options.prefetch_depth) + 1);
  thread_ = std::thread([this] { run(); });
}

Loader::~Loader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

bool Loader::can_read() const {
  return plan_ != nullptr && !replanning_ && error_ == nullptr &&
         ready_ < static_cast<int64_t>(plan_->size()) && ready_ < released_ + static_cast<int64_t>(slots_.size());
}

void Loader::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stop_ || can_read(); });
    if (stop_) return;
    const auto plan = plan_;  // keeps the indices alive while unlocked
    const int64_t epoch = plan_epoch_;
    const int64_t position = ready_;
    Slot& slot = slots_[static_cast<size_t>(position) % slots_.size()];
    busy_ = true;
    lock.unlock();
    std::exception_ptr error;
    try {
      fill(slot, (*plan)[static_cast<size_t>(position)], epoch);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    busy_ = false;
    // plan() waits for !busy_ before touching the plan, so it is still the one read from.
    if (error) {
      error_ = error;
    } else {
      ++ready_;
    }
    changed_.notify_all();
  }
}

void Loader::fill(Slot& slot, const std::vector<int64_t>& indices, int64_t epoch) {
  const auto n = static_cast<int64_t>(indices.size());
  const Shape shape{n, info_.sample[0], info_.sample[1], info_.sample[2]};
  if (slot.storage.numel() < shape.numel()) slot.storage = Tensor(shape);
  slot.batch.images = slot.storage.reshaped(shape);
  slot.batch.labels.resize(static_cast<size_t>(n));
  slot.batch.indices.assign(indices.begin(), indices.end());
  float* images = slot.batch.images.data();
  dataset_.read(indices, images, slot.batch.labels.data());
  const int64_t c = info_.sample[0], h = info_.sample[1], w = info_.sample[2];
  if (options_.augmentation.active())
    for (int64_t i = 0; i < n; ++i)
      options_.augmentation.apply(images + i * c * h * w, c, h, w, options_.seed, epoch, indices[i], scratch_.data());
  options_.normalization.apply(images, n, c, h * w);
}

void Loader::plan(std::vector<std::vector<int64_t>> batches, int64_t epoch) {
  for (size_t b = 0; b < batches.size(); ++b) {
    CONVOY_ASSERT(!batches[b].empty(), "Loader for ", dataset_.describe(), ": planned batch ", b,
                  " is empty; expected at least one sample index");
  }
  auto plan = std::make_shared<const std::vector<std::vector<int64_t>>>(std::move(batches));
  std::unique_lock lock(mutex_);
  replanning_ = true;  // stops the I/O thread from starting another read of the old plan
  changed_.wait(lock, [this] { return !busy_; });
  plan_ = std::move(plan);
  plan_epoch_ = epoch;
  delivered_ = released_ = ready_ = 0;
  error_ = nullptr;
  replanning_ = false;
  changed_.notify_all();
}

const Batch& Loader::next() {
  std::unique_lock lock(mutex_);
  const int64_t planned = plan_ ? static_cast<int64_t>(plan_->size()) : 0;
  CONVOY_ASSERT(delivered_ < planned, "Loader for ", dataset_.describe(),
                ": next() called with no planned batch left (", delivered_, " of ", planned,
                " delivered); call plan() first");
  released_ = delivered_;  // the batch returned last time is given back
  changed_.notify_all();
  changed_.wait(lock, [this] { return ready_ > delivered_ || error_ != nullptr; });
  if (ready_ <= delivered_) std::rethrow_exception(error_);
  return slots_[static_cast<size_t>(delivered_++) % slots_.size()].batch;
}

}  // namespace convoy
