// confusion_table: convoy eval's confusion matrix with class names, as a text table or JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "distributed/training_observer.hpp"

namespace convoy {

struct ConfusionMatrix {
  std::vector<std::string> class_names;  // one per class
  std::vector<int64_t> counts;           // [true * classes + predicted]
  int64_t classes() const { return static_cast<int64_t>(class_names.size()); }
  int64_t at(int64_t truth, int64_t predicted) const { return counts[truth * classes() + predicted]; }
  // Of the samples of class c, the fraction predicted as c; -1 for a class without samples.
  double class_accuracy(int64_t c) const;
};

// Rows are true classes ("index name"), columns predicted classes (by index), then the class's
// samples and accuracy; a last line with the overall loss and accuracy.
std::string confusion_text(const ConfusionMatrix& m, const EvalReport& report);

// {"classes": [...], "matrix": [[...]] (rows true), "per_class_accuracy": [...] (null without
// samples), "samples", "loss", "accuracy"}.
nlohmann::json confusion_json(const ConfusionMatrix& m, const EvalReport& report);

}  // namespace convoy
