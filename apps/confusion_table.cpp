#include "apps/confusion_table.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace convoy {

double ConfusionMatrix::class_accuracy(int64_t c) const {
  int64_t samples = 0;
  for (int64_t p = 0; p < classes(); ++p) samples += at(c, p);
  return samples > 0 ? static_cast<double>(at(c, c)) / static_cast<double>(samples) : -1.0;
}

std::string confusion_text(const ConfusionMatrix& m, const EvalReport& report) {
  const int64_t k = m.classes();
  int64_t largest = k - 1;
  size_t name_width = 15;  // so the header cell fits
  for (int64_t c : m.counts) largest = std::max(largest, c);
  for (const std::string& name : m.class_names) name_width = std::max(name_width, name.size());
  const int index_width = static_cast<int>(std::to_string(k - 1).size());
  const int width = std::max(static_cast<int>(std::to_string(largest).size()), 3) + 1;
  const int label_width = index_width + 1 + static_cast<int>(name_width);
  std::ostringstream out;
  out << "confusion matrix: a row per true class, a column per predicted class (by number)\n";
  out << std::left << std::setw(label_width) << "true \\ predicted" << std::right;
  for (int64_t p = 0; p < k; ++p) out << std::setw(width) << p;
  out << "   samples  accuracy\n";
  for (int64_t t = 0; t < k; ++t) {
    out << std::setw(index_width) << t << ' ' << std::left << std::setw(static_cast<int>(name_width))
        << m.class_names[t] << std::right;
    int64_t samples = 0;
    for (int64_t p = 0; p < k; ++p) {
      samples += m.at(t, p);
      out << std::setw(width) << m.at(t, p);
    }
    out << std::setw(10) << samples;
    const double accuracy = m.class_accuracy(t);
    if (accuracy < 0)
      out << "         -\n";
    else
      out << "  " << std::fixed << std::setprecision(2) << std::setw(7) << 100.0 * accuracy << "%\n";
  }
  out << "test: loss=" << std::fixed << std::setprecision(4) << report.loss << " accuracy=" << std::setprecision(2)
      << 100.0 * report.accuracy << "% samples=" << report.samples;
  return out.str();
}

nlohmann::json confusion_json(const ConfusionMatrix& m, const EvalReport& report) {
  nlohmann::json rows = nlohmann::json::array(), accuracy = nlohmann::json::array();
  for (int64_t t = 0; t < m.classes(); ++t) {
    rows.push_back(std::vector<int64_t>(m.counts.begin() + t * m.classes(), m.counts.begin() + (t + 1) * m.classes()));
    const double a = m.class_accuracy(t);
    accuracy.push_back(a < 0 ? nlohmann::json(nullptr) : nlohmann::json(a));
  }
  return {{"classes", m.class_names}, {"matrix", rows},         {"per_class_accuracy", accuracy},
          {"samples", report.samples}, {"loss", report.loss}, {"accuracy", report.accuracy}};
}

}  // namespace convoy
