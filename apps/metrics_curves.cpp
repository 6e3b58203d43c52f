#include "apps/metrics_curves.hpp"

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/regular_file.hpp"

namespace convoy {
namespace {

std::optional<double> number(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j.at(key).is_number()) return std::nullopt;
  return j.at(key).get<double>();
}

}  // namespace

std::vector<EpochPoint> read_epoch_curves(const std::string& path) {
  require_regular_file(path, "metrics file");
  std::ifstream in(path);
  CONVOY_CHECK(in.good(), IoError, "metrics file '", path, "': cannot be opened for reading");
  std::map<int64_t, EpochPoint> epochs;
  std::string line;
  for (int64_t number_of_line = 1; std::getline(in, line); ++number_of_line) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    CONVOY_CHECK(!j.is_discarded() && j.is_object(), IoError, "metrics file '", path, "', line ", number_of_line,
                 ": expected a JSON object (convoy train --metrics writes one per line), found '",
                 line.substr(0, 80), "'");
    if (j.value("type", "") != "epoch") continue;
    const std::optional<double> epoch = number(j, "epoch");
    const std::optional<double> loss = number(j, "train_loss"), accuracy = number(j, "train_accuracy");
    CONVOY_CHECK(epoch && loss && accuracy, IoError, "metrics file '", path, "', line ", number_of_line,
                 ": an epoch line needs numbers epoch, train_loss and train_accuracy, found ", line.substr(0, 120));
    EpochPoint p;
    p.epoch = static_cast<int64_t>(*epoch);
    p.train_loss = *loss;
    p.train_accuracy = *accuracy;
    p.test_loss = number(j, "test_loss");
    p.test_accuracy = number(j, "test_accuracy");
    p.val_loss = number(j, "val_loss");
    p.val_accuracy = number(j, "val_accuracy");
    epochs[p.epoch] = p;
  }
  CONVOY_CHECK(in.eof(), IoError, "metrics file '", path, "': read failed before its end");
  CONVOY_CHECK(!epochs.empty(), IoError, "metrics file '", path,
               "': holds no epoch line ({\"type\": \"epoch\", ...}); convoy train writes one at the end of each epoch");
  std::vector<EpochPoint> curves;
  for (const auto& [epoch, point] : epochs) curves.push_back(point);
  return curves;
}

}  // namespace convoy
