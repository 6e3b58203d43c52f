// convoy plot: loss and accuracy per epoch from a metrics file, or the confusion matrix of
// `convoy eval --confusion --json`, drawn by gnuplot into a PNG.
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/commands.hpp"
#include "apps/confusion_plot.hpp"
#include "apps/exit_codes.hpp"
#include "apps/gnuplot.hpp"
#include "apps/image_size_option.hpp"
#include "apps/metrics_curves.hpp"
#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace convoy {
namespace {

struct PlotOptions {
  std::string input, output, size;  // size "" takes the kind's default
};

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
  const auto panel = [&](const std::string& title, const char* key, int train_column, int test_column, int val_column) {
    std::string plot = "set title '" + title + "'\nset key " + key +
                       "\nplot $curves using 1:" + std::to_string(train_column) + " with linespoints title 'train'";
    if (test) plot += ", $curves using 1:" + std::to_string(test_column) + " with linespoints title 'test'";
    if (val) plot += ", $curves using 1:" + std::to_string(val_column) + " with linespoints title 'validation'";
    return plot + "\n";
  };
  s += panel("loss", "top right", 2, 4, 6);
  s += panel("accuracy (%)", "bottom right", 3, 5, 7);
  return s + "unset multiplot\n";
}

void write_png(const std::string& path, const std::string& png) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(png.data()), png.size());
  write_file_atomically(path, std::span<const std::span<const std::byte>>(&bytes, 1));
}

int run_plot(const PlotOptions& o) {
  const std::optional<ConfusionCounts> confusion = read_confusion_json(o.input);
  const ResizeTarget size =
      parse_resize_target(o.size.empty() ? (confusion ? "720x720" : "480x960") : o.size, "bilinear");
  std::string what;
  if (confusion) {
    write_png(o.output, run_gnuplot(confusion_gnuplot_script(*confusion, size.height, size.width)));
    what = "confusion matrix of " + std::to_string(confusion->rows.size()) + " classes";
  } else {
    const std::vector<EpochPoint> curves = read_epoch_curves(o.input);
    write_png(o.output, run_gnuplot(gnuplot_script(curves, size.height, size.width)));
    what = std::to_string(curves.size()) + " epochs";
  }
  std::printf("wrote %s: %s, %lldx%lld\n", o.output.c_str(), what.c_str(), static_cast<long long>(size.height),
              static_cast<long long>(size.width));
  return kExitOk;
}

}  // namespace

void add_plot_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<PlotOptions>();
  CLI::App* cmd = app.add_subcommand("plot",
                                     "Draw loss and accuracy per epoch (train, and test or validation where present), "
                                     "or a confusion matrix, into a PNG, with gnuplot");
  cmd->add_option(
         "file", o->input,
         "Metrics file (JSON lines from convoy train --metrics), or the JSON of convoy eval --confusion --json")
      ->required();
  cmd->add_option("-o,--output", o->output, "PNG file to write (atomically: replaced only when complete)")->required();
  cmd->add_option("--size", o->size,
                  "Height and width of the image in pixels, HxW as convert's --size (default: 480x960 for curves, "
                  "720x720 for a confusion matrix)")
      ->check(image_size());
  cmd->callback([o, &exit_code] { exit_code = run_plot(*o); });
}

}  // namespace convoy
