// The confusion matrix of `convoy eval --confusion --json` as a heat map, for convoy plot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace convoy {

struct ConfusionCounts {
  std::vector<std::string> classes;        // names, one per row and column
  std::vector<std::vector<int64_t>> rows;  // rows[true][predicted]
};

// The matrix of a file holding the JSON object eval prints, or nullopt when the file holds
// something else (a metrics file). IoError naming the file when the object has a "matrix" that
// is not square, has negative or non-integer counts, or does not match "classes".
std::optional<ConfusionCounts> read_confusion_json(const std::string& path);

// The gnuplot program drawing the matrix into a PNG on standard output: one cell per (true,
// predicted) pair, coloured by its share of the true class's samples (so rare and common
// classes read alike), labelled with its count; the true classes down the side, top to bottom.
std::string confusion_gnuplot_script(const ConfusionCounts& m, int64_t height, int64_t width);

}  // namespace convoy
