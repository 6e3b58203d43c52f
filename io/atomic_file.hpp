// Writing a file so that readers see the old contents or the complete new ones, never a mix.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace convoy {

// The temporary name used while `path` is written: ".<name>.tmp-<pid>" in the same folder,
// so the final rename stays within one file system.
std::string atomic_temp_path(const std::string& path);

// The file name a temporary of atomic_temp_path would have become ("step-5.ckpt" for
// ".step-5.ckpt.tmp-123"), or nullopt for any other name.
std::optional<std::string> atomic_temp_target(const std::string& filename);

// Writes the pieces, in order, to the temporary file, fsyncs it, renames it over `path` and
// fsyncs the folder. The file gets the mode a plain create under the process umask gives.
// On any failure the temporary file is removed, `path` is left as it was, and IoError names
// the path, the step that failed and the errno text.
void write_file_atomically(const std::string& path, std::span<const std::span<const std::byte>> pieces);

}  // namespace convoy
