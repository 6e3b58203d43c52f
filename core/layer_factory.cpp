#include "core/layer_factory.hpp"

#include <set>

#include "core/adaptive_avg_pool.hpp"
#include "core/add.hpp"
#include "core/batch_norm.hpp"
#include "core/concat.hpp"
#include "core/conv2d.hpp"
#include "core/dropout.hpp"
#include "core/dense.hpp"
#include "core/error.hpp"
#include "core/flatten.hpp"
#include "core/pad_shortcut.hpp"
#include "core/pool2d.hpp"
#include "core/relu.hpp"

namespace convoy {
namespace {

// Reads a layer's options, remembering which were used so leftovers (typos) can be reported.
class OptionReader {
 public:
  explicit OptionReader(const LayerSpec& spec) : spec_(spec) {
    CONVOY_CHECK(spec.options.is_object() || spec.options.is_null(), ConfigError, "layer '", spec.name,
                 "': options must be an object, found ", spec.options.dump());
  }

  int64_t integer(const std::string& key, int64_t fallback) {
    used_.insert(key);
    if (!has(key)) return fallback;
    const auto& v = spec_.options.at(key);
    CONVOY_CHECK(v.is_number_integer(), ConfigError, "layer '", spec_.name, "' option '", key,
                 "': expected an integer, found ", v.dump());
    return v.get<int64_t>();
  }
  bool boolean(const std::string& key, bool fallback) {
    used_.insert(key);
    if (!has(key)) return fallback;
    const auto& v = spec_.options.at(key);
    CONVOY_CHECK(v.is_boolean(), ConfigError, "layer '", spec_.name, "' option '", key,
                 "': expected true or false, found ", v.dump());
    return v.get<bool>();
  }
  double number(const std::string& key, double fallback) {
    used_.insert(key);
    if (!has(key)) return fallback;
    const auto& v = spec_.options.at(key);
    CONVOY_CHECK(v.is_number(), ConfigError, "layer '", spec_.name, "' option '", key, "': expected a number, found ",
                 v.dump());
    return v.get<double>();
  }
  const nlohmann::json* raw(const std::string& key) {
    used_.insert(key);
    return has(key) ? &spec_.options.at(key) : nullptr;
  }
  Init init(Init fallback) {
    const nlohmann::json* v = raw("init");
    if (v == nullptr) return fallback;
    const std::string s = v->is_string() ? v->get<std::string>() : v->dump();
    if (s == "he_normal") return Init::he_normal;
    if (s == "glorot_uniform") return Init::glorot_uniform;
    throw ConfigError("layer '" + spec_.name + "' option 'init': expected he_normal or glorot_uniform, found " + s);
  }
  void check_all_used() const {
    if (spec_.options.is_null()) return;
    for (const auto& [key, value] : spec_.options.items())
      CONVOY_CHECK(used_.count(key), ConfigError, "layer '", spec_.name, "' (", spec_.type, "): unknown option '",
                   key, "'");
  }

 private:
  bool has(const std::string& key) const { return spec_.options.is_object() && spec_.options.contains(key); }

  const LayerSpec& spec_;
  std::set<std::string> used_;
};

std::unique_ptr<Layer> make_conv2d(OptionReader& r, const LayerSpec& spec) {
  Conv2dOptions o;
  o.out_channels = r.integer("out_channels", 0);
  o.kernel = r.integer("kernel", 3);
  o.stride = r.integer("stride", 1);
  o.bias = r.boolean("bias", true);
  o.init = r.init(Init::he_normal);
  if (const nlohmann::json* p = r.raw("padding")) {
    if (p->is_number_integer()) {
      o.padding = Padding::explicit_;
      o.pad = p->get<int64_t>();
    } else if (*p == "valid") {
      o.padding = Padding::valid;
    } else if (*p == "same") {
      o.padding = Padding::same;
    } else {
      throw ConfigError("layer '" + spec.name + "' option 'padding': expected \"valid\", \"same\" or an integer, found " +
                        p->dump());
    }
  }
  return std::make_unique<Conv2d>(o);
}

std::unique_ptr<Layer> make_pool2d(OptionReader& r, PoolMode mode) {
  Pool2dOptions o;
  o.mode = mode;
  o.window = r.integer("window", 2);
  o.stride = r.integer("stride", 0);
  o.pad = r.integer("padding", 0);
  o.ceil_mode = r.boolean("ceil_mode", false);
  return std::make_unique<Pool2d>(o);
}

std::unique_ptr<Layer> make_dense(OptionReader& r, const LayerSpec&) {
  DenseOptions o;
  o.units = r.integer("units", 0);
  o.bias = r.boolean("bias", true);
  o.init = r.init(Init::he_normal);
  return std::make_unique<Dense>(o);
}

std::unique_ptr<Layer> make_batch_norm(OptionReader& r, const LayerSpec&) {
  BatchNormOptions o;
  o.momentum = r.number("momentum", o.momentum);
  o.epsilon = r.number("epsilon", o.epsilon);
  o.affine = r.boolean("affine", o.affine);
  return std::make_unique<BatchNorm>(o);
}

std::unique_ptr<Layer> make_adaptive_avg_pool(OptionReader& r, const LayerSpec& spec) {
  AdaptiveAvgPoolOptions o;
  const nlohmann::json* size = r.raw("size");
  CONVOY_CHECK(size != nullptr, ConfigError, "layer '", spec.name, "' (adaptive_avg_pool2d): missing option 'size'");
  if (size->is_number_integer()) {
    o.out_h = o.out_w = size->get<int64_t>();
  } else {
    CONVOY_CHECK(size->is_array() && size->size() == 2 && (*size)[0].is_number_integer() &&
                     (*size)[1].is_number_integer(),
                 ConfigError, "layer '", spec.name, "' option 'size': expected an integer or [height, width], found ",
                 size->dump());
    o.out_h = (*size)[0].get<int64_t>();
    o.out_w = (*size)[1].get<int64_t>();
  }
  return std::make_unique<AdaptiveAvgPool2d>(o);
}

using LayerMaker = std::unique_ptr<Layer> (*)(OptionReader&, const LayerSpec&);

// The one table of layer types: the factory and the list of names both read it.
const std::vector<std::pair<std::string, LayerMaker>>& layer_table() {
  static const std::vector<std::pair<std::string, LayerMaker>> table = {
      {"conv2d", make_conv2d},
      {"max_pool2d", [](OptionReader& r, const LayerSpec&) { return make_pool2d(r, PoolMode::max); }},
      {"avg_pool2d", [](OptionReader& r, const LayerSpec&) { return make_pool2d(r, PoolMode::average); }},
      {"adaptive_avg_pool2d", make_adaptive_avg_pool},
      {"global_avg_pool2d",
       [](OptionReader&, const LayerSpec&) -> std::unique_ptr<Layer> {
         return std::make_unique<AdaptiveAvgPool2d>(AdaptiveAvgPoolOptions{.global = true});
       }},
      {"dense", make_dense},
      {"flatten", [](OptionReader&, const LayerSpec&) -> std::unique_ptr<Layer> { return std::make_unique<Flatten>(); }},
      {"relu", [](OptionReader&, const LayerSpec&) -> std::unique_ptr<Layer> { return std::make_unique<Relu>(); }},
      {"batch_norm", make_batch_norm},
      {"dropout",
       [](OptionReader& r, const LayerSpec&) -> std::unique_ptr<Layer> {
         return std::make_unique<Dropout>(DropoutOptions{.rate = r.number("rate", 0.5)});
       }},
      {"add", [](OptionReader&, const LayerSpec&) -> std::unique_ptr<Layer> { return std::make_unique<Add>(); }},
      {"concat", [](OptionReader&, const LayerSpec&) -> std::unique_ptr<Layer> { return std::make_unique<Concat>(); }},
      {"pad_shortcut",
       [](OptionReader& r, const LayerSpec&) -> std::unique_ptr<Layer> {
         return std::make_unique<PadShortcut>(
             PadShortcutOptions{.out_channels = r.integer("out_channels", 0), .stride = r.integer("stride", 2)});
       }},
  };
  return table;
}

}  // namespace

std::vector<std::string> layer_types() {
  std::vector<std::string> names;
  for (const auto& [name, make] : layer_table()) names.push_back(name);
  return names;
}

std::unique_ptr<Layer> make_layer(const LayerSpec& spec) {
  OptionReader r(spec);
  for (const auto& [name, make] : layer_table()) {
    if (name != spec.type) continue;
    std::unique_ptr<Layer> layer = make(r, spec);
    r.check_all_used();
    return layer;
  }
  std::string known;
  for (const std::string& t : layer_types()) known += (known.empty() ? "" : ", ") + t;
  throw ConfigError("layer '" + spec.name + "': unknown type '" + spec.type + "' (known: " + known + ")");
}

}  // namespace convoy
