#include "core/zoo.hpp"

#include "core/error.hpp"

namespace convoy {
namespace {

// Appends layers, naming each by type and a running count ("conv2d_1").
class SpecBuilder {
 public:
  SpecBuilder(std::string name, const Shape& input, int64_t classes) {
    spec_.name = std::move(name);
    spec_.input = input;
    spec_.classes = classes;
  }
  SpecBuilder& add(const std::string& type, nlohmann::json options = nlohmann::json::object()) {
    spec_.layers.push_back({type, type + "_" + std::to_string(++count_), {}, std::move(options)});
    return *this;
  }
  ModelSpec done() { return std::move(spec_); }

 private:
  ModelSpec spec_;
  int count_ = 0;
};

// LeCun et al. 1998 as usually trained today: ReLU and max pooling, padding 2 on the first
// convolution so 28x28 inputs behave like the original 32x32.
ModelSpec lenet5(const Shape& input, int64_t classes) {
  return SpecBuilder("lenet5", input, classes)
      .add("conv2d", {{"out_channels", 6}, {"kernel", 5}, {"padding", 2}})
      .add("relu")
      .add("max_pool2d", {{"window", 2}})
      .add("conv2d", {{"out_channels", 16}, {"kernel", 5}})
      .add("relu")
      .add("max_pool2d", {{"window", 2}})
      .add("flatten")
      .add("dense", {{"units", 120}})
      .add("relu")
      .add("dense", {{"units", 84}})
      .add("relu")
      .add("dense", {{"units", classes}})
      .done();
}

// The CNN of the TensorFlow tutorial (tensorflow.org/tutorials/images/cnn).
ModelSpec keras_cnn(const Shape& input, int64_t classes) {
  return SpecBuilder("keras-cnn", input, classes)
      .add("conv2d", {{"out_channels", 32}, {"kernel", 3}})
      .add("relu")
      .add("max_pool2d", {{"window", 2}})
      .add("conv2d", {{"out_channels", 64}, {"kernel", 3}})
      .add("relu")
      .add("max_pool2d", {{"window", 2}})
      .add("conv2d", {{"out_channels", 64}, {"kernel", 3}})
      .add("relu")
      .add("flatten")
      .add("dense", {{"units", 64}})
      .add("relu")
      .add("dense", {{"units", classes}})
      .done();
}

}  // namespace

std::vector<std::string> builtin_model_names() { return {"keras-cnn", "lenet5"}; }

ModelSpec builtin_model(const std::string& name, const Shape& input, int64_t classes) {
  if (name == "lenet5") return lenet5(input, classes);
  if (name == "keras-cnn") return keras_cnn(input, classes);
  std::string known;
  for (const std::string& n : builtin_model_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError("--model '" + name + "': unknown model (known: " + known + ")");
}

}  // namespace convoy
