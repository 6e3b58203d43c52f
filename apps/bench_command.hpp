// convoy bench: layer and end-to-end throughput of models and convolution shapes.
#pragma once

#include <CLI/CLI.hpp>

namespace convoy {

void add_bench_command(CLI::App& app, int& exit_code);

}  // namespace convoy
