// convoy bench --bandwidth: the machine's memory bandwidth, to set memory-bound passes against.
#pragma once

namespace convoy {

// Prints STREAM-style copy (b = a) and triad (a = b + s * c) GB/s with 1 thread and with
// `threads`, for arrays the size of a ResNet activation at batch 64 (4 MiB, cache-resident on
// most servers) and for arrays far larger than any cache (256 MiB); medians of `repeats`.
void bench_bandwidth(int threads, int repeats);

}  // namespace convoy
