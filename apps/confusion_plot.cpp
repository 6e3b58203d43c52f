#include "apps/confusion_plot.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "apps/gnuplot.hpp"
#include "core/error.hpp"
#include "io/regular_file.hpp"

namespace convoy {

std::optional<ConfusionCounts> read_confusion_json(const std::string& path) {
  require_regular_file(path, "file to plot");
  std::ifstream in(path);
  CONVOY_CHECK(in.good(), IoError, "file to plot '", path, "': cannot be opened for reading");
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("matrix")) return std::nullopt;
  const auto fail = [&](const std::string& what) {
    return IoError("confusion matrix '" + path + "': " + what + " (convoy eval --confusion --json writes it)");
  };
  const nlohmann::json& matrix = j.at("matrix");
  if (!matrix.is_array() || matrix.empty()) throw fail("\"matrix\" is not a non-empty array of rows");
  ConfusionCounts m;
  const size_t n = matrix.size();
  for (size_t t = 0; t < n; ++t) {
    const nlohmann::json& row = matrix[t];
    if (!row.is_array() || row.size() != n)
      throw fail("row " + std::to_string(t) + " is not an array of " + std::to_string(n) + " counts");
    std::vector<int64_t>& counts = m.rows.emplace_back();
    for (const nlohmann::json& v : row) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0)
        throw fail("row " + std::to_string(t) + " holds " + v.dump() + ", expected a count (an integer >= 0)");
      counts.push_back(v.get<int64_t>());
    }
  }
  const nlohmann::json names = j.value("classes", nlohmann::json::array());
  if (!names.is_array() || (!names.empty() && names.size() != n))
    throw fail("\"classes\" names " + std::to_string(names.size()) + " classes, the matrix has " + std::to_string(n));
  for (size_t c = 0; c < n; ++c)
    m.classes.push_back(!names.empty() && names[c].is_string() ? names[c].get<std::string>()
                                                               : "class " + std::to_string(c));
  return m;
}

std::string confusion_gnuplot_script(const ConfusionCounts& m, int64_t height, int64_t width) {
  const int64_t n = static_cast<int64_t>(m.rows.size());
  // Columns: predicted, true, count, percent of the true class's samples.
  std::string data;
  int64_t largest = 0;
  for (int64_t t = 0; t < n; ++t) {
    int64_t samples = 0;
    for (const int64_t c : m.rows[t]) samples += c;
    for (int64_t p = 0; p < n; ++p) {
      const int64_t count = m.rows[t][p];
      largest = std::max(largest, count);
      char line[96];
      std::snprintf(line, sizeof line, "%lld %lld %lld %.4f\n", static_cast<long long>(p), static_cast<long long>(t),
                    static_cast<long long>(count), samples > 0 ? 100.0 * count / samples : 0.0);
      data += line;
    }
  }
  std::string tics;
  for (int64_t c = 0; c < n; ++c) tics += (c > 0 ? ", " : "") + gnuplot_string(m.classes[c]) + " " + std::to_string(c);
  const std::string edge = std::to_string(n) + "-0.5";
  std::string s = "set terminal pngcairo size " + std::to_string(width) + "," + std::to_string(height) +
                  " noenhanced\nset output\n$cells << EOD\n" + data + "EOD\n";
  s += "set title 'confusion matrix: counts, coloured by the share of the true class'\n";
  s += "set xlabel 'predicted'\nset ylabel 'true'\n";
  s += "set xrange [-0.5:" + edge + "]\nset yrange [" + edge + ":-0.5]\n";  // row 0 at the top
  s += "set xtics (" + tics + ") rotate by 45 right scale 0\nset ytics (" + tics + ") scale 0\n";
  s += "set cbrange [0:100]\nset cblabel '% of the true class'\n";
  s += "set palette defined (0 '#ffffff', 5 '#deebf7', 20 '#9ecae1', 50 '#4292c6', 100 '#08306b')\nset size ratio -1\n";
  // Labels small enough for the largest count, white on the dark cells.
  const int64_t digits = static_cast<int64_t>(std::to_string(largest).size());
  const int64_t font = std::max<int64_t>(6, std::min<int64_t>(12, std::min(height, width) / (n * (digits + 2))));
  s += "plot $cells using 1:2:4 with image notitle, \\\n  $cells using 1:2:($4 > 60 ? '' : sprintf('%d', $3)) "
       "with labels font '," +
       std::to_string(font) +
       "' textcolor rgb 'black' notitle, \\\n"
       "  $cells using 1:2:($4 > 60 ? sprintf('%d', $3) : '') with labels font '," +
       std::to_string(font) + "' textcolor rgb 'white' notitle\n";
  return s;
}

}  // namespace convoy
