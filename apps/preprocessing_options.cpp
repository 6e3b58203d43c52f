#include "apps/preprocessing_options.hpp"

#include <cmath>
#include <cstdlib>

#include "core/error.hpp"

namespace convoy {
namespace {

// "0.5,0.25": finite numbers separated by commas into values; false for anything else.
bool parse_numbers(const std::string& text, std::vector<float>& values) {
  values.clear();
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    start = comma + 1;
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(v)) return false;
    values.push_back(static_cast<float>(v));
  }
  return true;
}

CLI::Validator number_list() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        std::vector<float> values;
        return parse_numbers(s, values) ? "" : "expected finite numbers separated by commas, one per channel, found '" +
                                                    s + "'";
      },
      "LIST");
}

CLI::Validator augmentation_text() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        try {
          Augmentation::parse(s);
        } catch (const ConfigError& e) {
          return e.what();
        }
        return "";
      },
      "LIST");
}

}  // namespace

void PreprocessingOptions::add_to(CLI::App& cmd) {
  auto* norm = cmd.add_flag("--normalize", normalize,
                            "Normalise each channel: (x - mean) / std, with the training set's mean and std "
                            "attributes (convoy convert stores them) unless --mean/--std are given");
  auto* m = cmd.add_option("--mean", mean, "Per-channel means for --normalize, in [0, 1] units, e.g. 0.49,0.48,0.45")
                ->check(number_list());
  auto* s = cmd.add_option("--std", std, "Per-channel standard deviations for --normalize, e.g. 0.25,0.24,0.26")
                ->check(number_list());
  m->needs(norm)->needs(s);
  s->needs(norm)->needs(m);
  cmd.add_option("--augment", augment,
                 "Training-set augmentation: none, or a list of flip (random horizontal flip) and crop:P (random "
                 "crop after zero padding of P), e.g. flip,crop:4")
      ->capture_default_str()
      ->check(augmentation_text());
}

Augmentation PreprocessingOptions::augmentation() const { return Augmentation::parse(augment); }

Normalization PreprocessingOptions::normalization(const DatasetParts& train, const std::string& data_option) const {
  if (!normalize) return {};
  const int64_t channels = train.info().sample[0];
  Normalization n;
  if (!mean.empty()) {
    parse_numbers(mean, n.mean);
    parse_numbers(std, n.std);
    n.validate(channels, "--mean/--std");
    return n;
  }
  n = train.statistics();
  CONVOY_CHECK(n.active(), ConfigError, "--normalize: ", data_option, " ", train.describe(),
               " has no mean and std attributes on /images (files from an older convoy convert?); convert it "
               "again or give --mean and --std");
  n.validate(channels, "--normalize: the mean and std attributes of " + data_option + " " + train.describe());
  return n;
}

void PreprocessingOptions::add_settings(SettingsTable& table) const {
  table.emplace_back("--normalize", normalize ? "true" : "false");
  table.emplace_back("--mean", mean);
  table.emplace_back("--std", std);
  table.emplace_back("--augment", augmentation().str());
}

}  // namespace convoy
