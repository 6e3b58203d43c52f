// The subcommands of convoy; each add_*_command registers its options and its run callback.
#pragma once

#include <CLI/CLI.hpp>

#include "distributed/communicator.hpp"

namespace convoy {

// exit_code receives the command's result when it completes without throwing. One file each,
// apps/<name>_command.cpp.
void add_train_command(CLI::App& app, Communicator& comm, int& exit_code);
void add_eval_command(CLI::App& app, Communicator& comm, int& exit_code);
void add_predict_command(CLI::App& app, int& exit_code);
void add_convert_command(CLI::App& app, int& exit_code);
void add_inspect_command(CLI::App& app, int& exit_code);
void add_summary_command(CLI::App& app, int& exit_code);
void add_export_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);

// `convoy convert images` (convert_images_command.cpp), registered by add_convert_command
// under the `convert` subcommand.
void add_convert_images_subcommand(CLI::App& convert, int& exit_code);
void add_predict_command(CLI::App& app, int& exit_code);
void add_plot_command(CLI::App& app, int& exit_code);

}  // namespace convoy
