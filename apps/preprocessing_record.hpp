// PreprocessingRecord: how a model's samples were prepared, as its checkpoints record it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/augmentation.hpp"
#include "io/channel_statistics.hpp"
#include "io/dataset_parts.hpp"

namespace convoy {

// Note [Preprocessing record]
// TrainingState::preprocessing_json is a JSON object with the keys below; a key that is absent
// means what checkpoints written before it did (no normalisation, no augmentation, predict's
// default filter and aspect), so older checkpoints still load:
//   input [C, H, W]; class_names; color ("grayscale", "rgb"; from C);
//   normalization {"mean": [...], "std": [...]} (Note [Normalisation]);
//   resize_filter, aspect: as the training file's import recorded them;
//   augmentation: the training's --augment (eval and predict never augment).
// convoy eval normalises with it and convoy predict repeats all of it, so neither needs a flag
// to prepare samples as training did.
struct PreprocessingRecord {
  std::vector<int64_t> input;  // [C, H, W]; empty when unknown
  std::vector<std::string> class_names;
  Normalization normalization;  // inactive: samples are stored value / 255
  std::string resize_filter;    // "area" or "bilinear"; "" when unknown
  std::string aspect;           // "stretch", "crop" or "pad"; "" when unknown
  Augmentation augmentation;

  std::string to_json() const;
  // "" gives the defaults. IoError naming `checkpoint` for text that is not such an object.
  static PreprocessingRecord parse(const std::string& json, const std::string& checkpoint);
};

// "normalize mean [0.2860] std [0.3530]; augment flip,crop:4", for start-up lines and errors.
// Per-channel values as printed: "[0.2860, 0.3530]".
std::string channel_list(const std::vector<float>& values);

std::string describe_preprocessing(const Normalization& normalization, const Augmentation& augmentation);

// What a training run on `train` (its sample shape, class names and import attributes) with
// this normalisation and augmentation records.
PreprocessingRecord training_record(const DatasetParts& train, const Normalization& normalization,
                                    const Augmentation& augmentation);

}  // namespace convoy
