#include "apps/gnuplot.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/error.hpp"

namespace convoy {
namespace {

// The gnuplot executable on PATH, or IoError saying how to get it.
std::string find_gnuplot() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/gnuplot";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw IoError(
      "convoy plot draws with gnuplot, which was not found on PATH; install it (Debian: apt-get install gnuplot-nox)");
}

// A file in the temporary folder holding `text`, removed when this goes.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/convoy-plot-XXXXXX";
    const int fd = ::mkstemp(path_.data());
    CONVOY_CHECK(fd >= 0, IoError, "convoy plot: cannot create a temporary file in ", path_);
    ::close(fd);
    std::ofstream(path_) << text;
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::string run_gnuplot(const std::string& script) {
  const std::string gnuplot = find_gnuplot();
  const TempFile program(script), errors("");
  const std::string command = "'" + gnuplot + "' '" + program.path() + "' 2>'" + errors.path() + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  CONVOY_CHECK(pipe != nullptr, IoError, "convoy plot: cannot start ", gnuplot);
  std::string png;
  char buffer[1 << 16];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) png.append(buffer, n);
  const int status = ::pclose(pipe);
  const bool is_png = png.size() > 8 && png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
  CONVOY_CHECK(status == 0 && is_png, IoError, "convoy plot: ", gnuplot, " failed (exit status ", status,
               is_png ? "" : ", no PNG written", "): ", file_text(errors.path()));
  return png;
}

std::string gnuplot_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;  // a line break would end the command
  }
  return out + "\"";
}

}  // namespace convoy
