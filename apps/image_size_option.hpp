// The --size HxW and --resize-filter options of the convert subcommands.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "io/image_resize.hpp"

namespace convoy {

// "64x64" (or "64X64") and "area" | "bilinear"; an empty size keeps the images' size. ConfigError
// naming the option, what was expected and what was found.
ResizeTarget parse_resize_target(const std::string& size, const std::string& filter);

// The --size check as a command-line validator (exit 2): "expected HxW ..., found '...'".
CLI::Validator image_size();

}  // namespace convoy
