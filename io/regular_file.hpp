// Refusing paths that are not regular files (FIFOs, folders, devices) before reading them.
#pragma once

#include <string>

namespace convoy {

// Throws IoError "<what> '<path>': expected a regular file, found a FIFO (named pipe)" (or a
// folder, a socket, a device) when `path` exists and is not a regular file (symbolic links are
// followed). A missing path passes: the reader reports it in its own words. Opening a FIFO
// would block until something writes to it, so readers check before they open.
void require_regular_file(const std::string& path, const std::string& what);

}  // namespace convoy
