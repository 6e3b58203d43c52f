// convoy bench --loader: the data pipeline's own ceiling, without a model.
#pragma once

#include <cstdint>
#include <string>

namespace convoy {

// Reads `repeats` shuffled epochs of `spec` (the files --data takes) in batches of `batch`
// through the prefetching loader, as training does but with nothing consuming the batches, and
// prints the median samples/s with the images held in memory and read from the files every
// batch (Note [Resident images] in io/hdf5_dataset.hpp).
void bench_loader(const std::string& spec, int64_t batch, int repeats);

}  // namespace convoy
