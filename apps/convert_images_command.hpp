// convoy convert images: a folder of images, one sub-folder per class, into Convoy's HDF5 layout.
#pragma once

#include <CLI/CLI.hpp>

namespace convoy {

// Registers `images` under the `convert` subcommand.
void add_convert_images_subcommand(CLI::App& convert, int& exit_code);

}  // namespace convoy
