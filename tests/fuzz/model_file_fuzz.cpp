// libFuzzer target: a model file's text must become a checked model graph or throw one of
// Convoy's errors (ConfigError, ShapeError) naming what is wrong, never crash or escape.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "core/model_graph.hpp"
#include "core/model_spec.hpp"

// The first byte picks the data's sample shape and class count (as `convoy train` fills a
// template from the data); the rest is the file's text. Only the passes that read the spec run:
// build (the factory's option checks, inputs by name, every shape) and fuse. Planning memory
// would allocate what the spec asks for, which the OOM message covers, not this target.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int64_t channels = 1 + (data[0] & 3), side = 4 << ((data[0] >> 2) & 3), classes = 2 + (data[0] >> 4);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const convoy::ModelSpec spec =
        convoy::ModelSpec::from_template(convoy::parse_model_json(text), convoy::Shape{channels, side, side}, classes);
    convoy::ModelGraph graph = convoy::build_graph(spec, 2);
    convoy::fuse_graph(graph);
    // A graph that built ends in [batch, classes].
    const convoy::Shape& out = graph.nodes.back().output_shape;
    if (out.rank() != 2 || out[1] != spec.classes) __builtin_trap();
  } catch (const convoy::Error&) {
    // Refused with a message: the expected outcome for nearly every input.
  }
  return 0;
}
