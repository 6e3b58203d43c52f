// Loader: a BatchReader over an HDF5 dataset that reads planned batches ahead on one I/O thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/batch_reader.hpp"
#include "io/augmentation.hpp"
#include "io/channel_statistics.hpp"
#include "io/dataset_parts.hpp"

namespace convoy {

struct LoaderOptions {
  // Batches read ahead of the one the consumer holds (>= 1).
  int prefetch_depth = 2;
  // Applied to every sample read, on the I/O thread: augmentation (Note [Augmentation], drawn
  // from `seed`, the plan's epoch and the sample's index), then normalisation (Note
  // [Normalisation]). Both off by default; a test set's loader gets the normalisation only.
  Augmentation augmentation = {};
  uint64_t seed = 0;
  Normalization normalization = {};
};

// Note [Loader slots]
// Batch p of the plan is read into slot p % (depth + 1). The consumer
// holds the slot of the batch next() last returned; the I/O thread fills batches
// [released, released + depth], so the two never touch the same slot. Each slot keeps its
// tensor storage across batches, so after the first few batches nothing is allocated.
//
// Threading: one consumer thread calls plan()/next(); the I/O thread is the only one that reads
// the dataset after construction (see Note [HDF5 threads]).
class Loader final : public BatchReader {
 public:
  // Throws ConfigError for a normalisation that does not fit the samples' channels.
  explicit Loader(DatasetParts dataset, const LoaderOptions& options = {});
  explicit Loader(Hdf5Dataset dataset, const LoaderOptions& options = {});
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;
  // Waits for a read in flight, then joins the I/O thread.
  ~Loader() override;

  const DatasetInfo& info() const override { return info_; }
  using BatchReader::plan;
  // Waits for the read in flight (if any) to finish, drops everything read ahead, and starts
  // reading the new plan. An empty batch is the caller's bug (InternalError).
  void plan(std::vector<std::vector<int64_t>> batches, int64_t epoch) override;
  // Blocks until the next planned batch is read. Rethrows the I/O thread's error (IoError from
  // HDF5; InternalError for an index outside the dataset) when that batch failed; batches read
  // before the failure are still delivered. Throws InternalError when no planned batch is left.
  const Batch& next() override;

  // Samples read from the file so far (what the I/O thread has fetched, including read-ahead).
  int64_t samples_read() const { return dataset_.samples_read(); }

 private:
  struct Slot {
    Tensor storage;  // capacity for the largest batch seen; batch.images views it
    Batch batch;
  };

  void run();
  bool can_read() const;
  void fill(Slot& slot, const std::vector<int64_t>& indices, int64_t epoch);

  DatasetParts dataset_;
  DatasetInfo info_;
  LoaderOptions options_;
  std::vector<float> scratch_;  // a row, for augmentation (I/O thread only)
  std::vector<Slot> slots_;

  std::mutex mutex_;
  std::condition_variable changed_;  // any of the fields below changed
  std::shared_ptr<const std::vector<std::vector<int64_t>>> plan_;
  int64_t plan_epoch_ = 0;  // the epoch plan_ belongs to
  int64_t delivered_ = 0;  // batches next() has returned from the current plan
  int64_t released_ = 0;   // batches whose slots the consumer has given back
  int64_t ready_ = 0;      // batches read into their slots
  bool busy_ = false;      // the I/O thread is reading, outside the lock, into slot ready_
  bool replanning_ = false;
  bool stop_ = false;
  std::exception_ptr error_;  // why batch ready_ of the current plan could not be read

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace convoy
