#include "apps/loader_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

#include "apps/data_sources.hpp"
#include "io/dataset_parts.hpp"
#include "io/loader.hpp"

namespace convoy {
namespace {

// Samples per second of one shuffled epoch after another, the median over `repeats`.
double epoch_rate(DatasetParts parts, int64_t batch, int repeats) {
  const int64_t n = parts.info().size;
  Loader loader(std::move(parts));
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 shuffle(1);
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    std::shuffle(order.begin(), order.end(), shuffle);
    std::vector<std::vector<int64_t>> batches;
    for (int64_t b = 0; b < n; b += batch)
      batches.emplace_back(order.begin() + b, order.begin() + std::min(n, b + batch));
    const auto start = std::chrono::steady_clock::now();
    const size_t count = batches.size();
    loader.plan(std::move(batches), r);
    for (size_t b = 0; b < count; ++b) loader.next();
    rates.push_back(static_cast<double>(n) /
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace

void bench_loader(const std::string& spec, int64_t batch, int repeats) {
  const std::vector<std::string> paths = dataset_paths(spec, "--loader");
  DatasetParts resident = DatasetParts::open(paths, {.batch_hint = batch, .memory_budget_bytes = data_memory_budget()});
  const DatasetInfo info = resident.info();
  const std::string residence = describe_residence(resident);
  const double memory = epoch_rate(std::move(resident), batch, repeats);
  const double file = epoch_rate(DatasetParts::open(paths, {.batch_hint = batch}), batch, repeats);
  std::printf("loader over %s: %lld samples %s, batch %lld, the median of %d shuffled epochs\n", spec.c_str(),
              static_cast<long long>(info.size), info.sample.str().c_str(), static_cast<long long>(batch), repeats);
  std::printf("  %s: %.0f samples/s\n  read from the files every batch: %.0f samples/s\n", residence.c_str(), memory,
              file);
}

}  // namespace convoy
