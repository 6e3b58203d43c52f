#include "core/pool2d.hpp"

#include "core/error.hpp"

namespace convoy {
namespace {

int64_t pooled_size(int64_t in, const Pool2dOptions& o) {
  const int64_t span = in + 2 * o.pad - o.window;
  if (span < 0) return 0;
  int64_t out = (o.ceil_mode ? (span + o.stride - 1) / o.stride : span / o.stride) + 1;
  // A window must start inside the input or its leading padding (PyTorch's rule for ceil_mode).
  if (o.ceil_mode && (out - 1) * o.stride >= in + o.pad) --out;
  return out;
}

}  // namespace

Pool2d::Pool2d(Pool2dOptions options) : options_(options) {
  if (options_.stride == 0) options_.stride = options_.window;
  CONVOY_CHECK(options_.window > 0, ConfigError, type(), ": window must be positive, found ", options_.window);
  CONVOY_CHECK(options_.stride > 0, ConfigError, type(), ": stride must be positive, found ", options_.stride);
  CONVOY_CHECK(options_.pad >= 0 && options_.pad < options_.window, ConfigError, type(),
               ": padding must be in [0, window), found ", options_.pad);
}

std::string Pool2d::describe() const {
  return type() + " " + std::to_string(options_.window) + "x" + std::to_string(options_.window) + " stride " +
         std::to_string(options_.stride) + (options_.pad ? " pad " + std::to_string(options_.pad) : "") +
         (options_.ceil_mode ? " ceil" : "");
}

// Only the exact window the producers fuse (Note [Fused pooling]): ceil_mode would add partial windows.
std::optional<PostOp> Pool2d::as_post_op() const {
  const Pool2dOptions& o = options_;
  if (o.mode == PoolMode::max && o.window == 2 && o.stride == 2 && o.pad == 0 && !o.ceil_mode)
    return PostOp::max_pool_2x2;
  return std::nullopt;
}

Pool2dGeometry Pool2d::geometry(const Shape& input) const {
  Pool2dGeometry g;
  g.batch = input[0];
  g.channels = input[1];
  g.in_h = input[2];
  g.in_w = input[3];
  g.window_h = g.window_w = options_.window;
  g.stride_h = g.stride_w = options_.stride;
  g.pad_top = g.pad_left = options_.pad;
  g.out_h = pooled_size(g.in_h, options_);
  g.out_w = pooled_size(g.in_w, options_);
  CONVOY_CHECK(g.out_h > 0 && g.out_w > 0, ShapeError, "layer ", describe(), ": input ", input.str(),
               " is smaller than the window");
  return g;
}

Shape Pool2d::output_shape(std::span<const Shape> inputs) const {
  check_single_input(*this, inputs, 4);
  const Pool2dGeometry g = geometry(inputs[0]);
  return Shape{g.batch, g.channels, g.out_h, g.out_w};
}

void Pool2d::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) {
  const Pool2dGeometry g = geometry(inputs[0].shape());
  if (options_.mode == PoolMode::max)
    max_pool2d_forward(g, inputs[0].data(), output.data(), ctx.threads);
  else
    avg_pool2d_forward(g, inputs[0].data(), output.data(), ctx.threads);
}

void Pool2d::backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                      std::span<Tensor> input_grads, const PassContext& ctx) {
  if (input_grads[0].empty()) return;
  const Pool2dGeometry g = geometry(inputs[0].shape());
  if (options_.mode == PoolMode::max)
    max_pool2d_backward(g, inputs[0].data(), output_grad.data(), input_grads[0].data(), ctx.threads);
  else
    avg_pool2d_backward(g, output_grad.data(), input_grads[0].data(), ctx.threads);
}

}  // namespace convoy
