// convoy plot: loss and accuracy per epoch from a metrics file, drawn by gnuplot into a PNG.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "apps/commands.hpp"
#include "apps/exit_codes.hpp"
#include "apps/image_size_option.hpp"
#include "apps/metrics_curves.hpp"
#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace convoy {
namespace {

struct PlotOptions {
  std::string metrics, output, size = "480x960";
};

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

std::string value_text(const std::optional<double>& v, double scale = 1.0) {
  if (!v || !std::isfinite(*v)) return "NaN";
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", *v * scale);
  return text;
}

// The gnuplot program: the curves as an inline data block, two panels (loss, accuracy in %),
// the PNG written to standard output.
std::string gnuplot_script(const std::vector<EpochPoint>& curves, int64_t height, int64_t width) {
  bool test = false, val = false;
  for (const EpochPoint& p : curves) test |= p.test_loss.has_value(), val |= p.val_loss.has_value();
  std::string s = "set terminal pngcairo size " + std::to_string(width) + "," + std::to_string(height) +
                  " noenhanced\nset output\n$curves << EOD\n";
  for (const EpochPoint& p : curves)
    s += std::to_string(p.epoch) + " " + value_text(p.train_loss) + " " + value_text(p.train_accuracy, 100) + " " +
         value_text(p.test_loss) + " " + value_text(p.test_accuracy, 100) + " " + value_text(p.val_loss) + " " +
         value_text(p.val_accuracy, 100) + "\n";
  const int64_t first = curves.front().epoch, last = curves.back().epoch;
  s += "EOD\nset datafile missing 'NaN'\nset grid\nset xlabel 'epoch'\n";
  s += last > first ? "set xrange [" + std::to_string(first) + ":" + std::to_string(last) + "]\n"
                    : "set xrange [" + std::to_string(first - 1) + ":" + std::to_string(last + 1) + "]\n";
  if (last - first < 20) s += "set xtics 1\n";
  s += "set multiplot layout 1,2\n";
  // Loss falls and accuracy rises: each key goes where its curves end up leaving room.
  const auto panel = [&](const std::string& title, const char* key, int train_column, int test_column,
                         int val_column) {
    std::string plot = "set title '" + title + "'\nset key " + key + "\nplot $curves using 1:" +
                       std::to_string(train_column) + " with linespoints title 'train'";
    if (test) plot += ", $curves using 1:" + std::to_string(test_column) + " with linespoints title 'test'";
    if (val) plot += ", $curves using 1:" + std::to_string(val_column) + " with linespoints title 'validation'";
    return plot + "\n";
  };
  s += panel("loss", "top right", 2, 4, 6);
  s += panel("accuracy (%)", "bottom right", 3, 5, 7);
  return s + "unset multiplot\n";
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
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs gnuplot on the script and returns the PNG it wrote to standard output.
std::string run_gnuplot(const std::string& gnuplot, const std::string& script) {
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

int run_plot(const PlotOptions& o) {
  const std::vector<EpochPoint> curves = read_epoch_curves(o.metrics);
  const ResizeTarget size = parse_resize_target(o.size, "bilinear");
  const std::string png = run_gnuplot(find_gnuplot(), gnuplot_script(curves, size.height, size.width));
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(png.data()), png.size());
  write_file_atomically(o.output, std::span<const std::span<const std::byte>>(&bytes, 1));
  std::printf("wrote %s: %zu epochs, %lldx%lld\n", o.output.c_str(), curves.size(),
              static_cast<long long>(size.height), static_cast<long long>(size.width));
  return kExitOk;
}

}  // namespace

void add_plot_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<PlotOptions>();
  CLI::App* cmd = app.add_subcommand(
      "plot",
      "Draw loss and accuracy per epoch (train, and test or validation where present) into a PNG, with gnuplot");
  cmd->add_option("metrics", o->metrics, "Metrics file (JSON lines from convoy train --metrics)")->required();
  cmd->add_option("-o,--output", o->output, "PNG file to write (atomically: replaced only when complete)")->required();
  cmd->add_option("--size", o->size, "Height and width of the image in pixels, HxW as convert's --size")
      ->capture_default_str()
      ->check(image_size());
  cmd->callback([o, &exit_code] { exit_code = run_plot(*o); });
}

}  // namespace convoy
