// The sample-preparation options of convoy train: --normalize, --mean, --std, --augment.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "distributed/agreement.hpp"
#include "io/augmentation.hpp"
#include "io/channel_statistics.hpp"
#include "io/dataset_parts.hpp"

namespace convoy {

struct PreprocessingOptions {
  bool normalize = false;
  std::string mean, std;  // comma-separated, one value per channel, in [0, 1] units
  std::string augment = "none";

  // Registers the options; a bad value is a CLI::ValidationError (exit 2) naming the option.
  void add_to(CLI::App& cmd);
  Augmentation augmentation() const;
  // Inactive without --normalize; else --mean/--std when given, else the training set's mean and
  // std attributes (Note [Normalisation]). ConfigError naming the option or the file when those
  // are missing or do not fit the samples' channels.
  Normalization normalization(const DatasetParts& train, const std::string& data_option) const;
  // The options as the agreement table holds them (they change what every rank's data is).
  void add_settings(SettingsTable& table) const;
};

}  // namespace convoy
