#include "apps/preprocessing_record.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace convoy {

std::string PreprocessingRecord::to_json() const {
  nlohmann::json j = {{"input", input}, {"class_names", class_names}};
  if (input.size() == 3 && (input[0] == 1 || input[0] == 3)) j["color"] = input[0] == 1 ? "grayscale" : "rgb";
  if (normalization.active()) j["normalization"] = {{"mean", normalization.mean}, {"std", normalization.std}};
  if (!resize_filter.empty()) j["resize_filter"] = resize_filter;
  if (!aspect.empty()) j["aspect"] = aspect;
  if (augmentation.active()) j["augmentation"] = augmentation.str();
  return j.dump();
}

PreprocessingRecord PreprocessingRecord::parse(const std::string& json, const std::string& checkpoint) {
  PreprocessingRecord r;
  if (json.empty()) return r;
  try {
    const nlohmann::json j = nlohmann::json::parse(json);
    CONVOY_CHECK(j.is_object(), IoError, "expected an object");
    if (j.contains("input")) r.input = j.at("input").get<std::vector<int64_t>>();
    if (j.contains("class_names")) r.class_names = j.at("class_names").get<std::vector<std::string>>();
    if (j.contains("normalization")) {
      r.normalization.mean = j.at("normalization").at("mean").get<std::vector<float>>();
      r.normalization.std = j.at("normalization").at("std").get<std::vector<float>>();
    }
    r.resize_filter = j.value("resize_filter", "");
    r.aspect = j.value("aspect", "");
    r.augmentation = Augmentation::parse(j.value("augmentation", "none"));
  } catch (const std::exception& e) {
    throw IoError(detail::concat("checkpoint '", checkpoint, "': its preprocessing record is not valid (", e.what(),
                                 "): ", json));
  }
  return r;
}

std::string channel_list(const std::vector<float>& values) {
  std::string s;
  char text[32];
  for (float v : values) {
    std::snprintf(text, sizeof(text), "%.4f", v);
    s += (s.empty() ? "" : ", ") + std::string(text);
  }
  return "[" + s + "]";
}

std::string describe_preprocessing(const Normalization& normalization, const Augmentation& augmentation) {
  const std::string norm = normalization.active() ? "normalize mean " + channel_list(normalization.mean) + " std " +
                                                        channel_list(normalization.std)
                                                  : "no normalization";
  return norm + "; augment " + augmentation.str();
}

PreprocessingRecord training_record(const DatasetParts& train, const Normalization& normalization,
                                    const Augmentation& augmentation) {
  PreprocessingRecord r;
  const DatasetInfo& info = train.info();
  r.input = {info.sample[0], info.sample[1], info.sample[2]};
  r.class_names = info.class_names;
  r.normalization = normalization;
  // The first part's import settings stand for all (parts are made by one import command).
  const ImageAttributes& a = train.parts().front().image_attributes();
  r.resize_filter = a.resize_filter;
  r.aspect = a.aspect;
  r.augmentation = augmentation;
  return r;
}

}  // namespace convoy
