#include "core/conv2d.hpp"

#include <algorithm>

#include "core/alignment.hpp"
#include "core/error.hpp"

namespace convoy {
namespace {

// The folded weights and bias, rounded up so that the kernels' scratch after them stays aligned.
int64_t folded_floats(const Conv2dGeometry& g) { return align_floats(g.patch() * g.out_channels + g.out_channels); }

struct AxisPadding {
  int64_t out, before;
};

// Output size and leading padding along one axis. `same` follows TensorFlow: out = ceil(in / stride),
// with the odd pixel of padding after (bottom/right).
AxisPadding axis(int64_t in, int64_t kernel, int64_t stride, Padding padding, int64_t pad) {
  switch (padding) {
    case Padding::valid:
      return {in >= kernel ? (in - kernel) / stride + 1 : 0, 0};
    case Padding::same: {
      const int64_t out = (in + stride - 1) / stride;
      const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - in, 0);
      return {out, total / 2};
    }
    case Padding::explicit_:
      return {in + 2 * pad >= kernel ? (in + 2 * pad - kernel) / stride + 1 : 0, pad};
  }
  return {0, 0};
}

const char* padding_name(Padding p) {
  return p == Padding::valid ? "valid" : p == Padding::same ? "same" : "explicit";
}

}  // namespace

Conv2d::Conv2d(Conv2dOptions options) : options_(options) {
  if (options_.kernel_h == 0) options_.kernel_h = options_.kernel;
  if (options_.kernel_w == 0) options_.kernel_w = options_.kernel;
  CONVOY_CHECK(options_.out_channels > 0, ConfigError, "conv2d: out_channels must be positive, found ",
               options_.out_channels);
  CONVOY_CHECK(options_.kernel_h > 0 && options_.kernel_w > 0, ConfigError,
               "conv2d: kernel must be positive, found ", options_.kernel_h, "x", options_.kernel_w);
  CONVOY_CHECK(options_.stride > 0, ConfigError, "conv2d: stride must be positive, found ", options_.stride);
  CONVOY_CHECK(options_.pad >= 0, ConfigError, "conv2d: padding must be non-negative, found ", options_.pad);
}

std::string Conv2d::describe() const {
  std::string s = "conv2d " + std::to_string(options_.out_channels) + " " + std::to_string(options_.kernel_h) +
                  "x" + std::to_string(options_.kernel_w) + " stride " + std::to_string(options_.stride) +
                  " padding " + padding_name(options_.padding);
  if (options_.padding == Padding::explicit_) s += " " + std::to_string(options_.pad);
  if (fused_relu_) s += " + relu";
  if (folds_) s += " (batch_norm folded in inference)";
  return fused_pool_ ? s + " + max_pool2d 2x2" : s;
}

// A ReLU, then optionally the 2x2 max pool after it.
bool Conv2d::accept_post_op(PostOp op) {
  if (op == PostOp::relu && !fused_relu_) return fused_relu_ = true;
  if (op == PostOp::max_pool_2x2 && fused_relu_ && !fused_pool_) return fused_pool_ = true;
  return false;
}

Conv2dGeometry Conv2d::geometry(const Shape& input) const {
  Conv2dGeometry g;
  g.batch = input[0];
  g.in_channels = input[1];
  g.in_h = input[2];
  g.in_w = input[3];
  g.out_channels = options_.out_channels;
  g.kernel_h = options_.kernel_h;
  g.kernel_w = options_.kernel_w;
  g.stride_h = g.stride_w = options_.stride;
  const AxisPadding y = axis(g.in_h, g.kernel_h, options_.stride, options_.padding, options_.pad);
  const AxisPadding x = axis(g.in_w, g.kernel_w, options_.stride, options_.padding, options_.pad);
  g.out_h = y.out;
  g.out_w = x.out;
  g.pad_top = y.before;
  g.pad_left = x.before;
  g.fused_relu = fused_relu_;
  g.fused_pool = fused_pool_;
  CONVOY_CHECK(g.pooled_h() > 0 && g.pooled_w() > 0, ShapeError, "layer ", describe(), ": input ", input.str(),
               " is smaller than the kernel");
  return g;
}

Shape Conv2d::output_shape(std::span<const Shape> inputs) const {
  check_single_input(*this, inputs, 4);
  const Conv2dGeometry g = geometry(inputs[0]);
  return Shape{g.batch, g.out_channels, g.pooled_h(), g.pooled_w()};
}

std::vector<ParameterSpec> Conv2d::parameter_specs(std::span<const Shape> inputs) const {
  const Conv2dGeometry g = geometry(inputs[0]);
  const int64_t taps = g.kernel_h * g.kernel_w;
  std::vector<ParameterSpec> specs = {
      {"weight", Shape{g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}, options_.init,
       g.in_channels * taps, g.out_channels * taps}};
  if (options_.bias) specs.push_back({"bias", Shape{g.out_channels}, Init::zeros, 0, 0});
  return specs;
}

void Conv2d::bind_parameters(std::span<Tensor> parameters, std::span<Tensor> gradients) {
  weight_ = parameters[0];
  weight_grad_ = gradients[0];
  if (options_.bias) {
    bias_ = parameters[1];
    bias_grad_ = gradients[1];
  }
}

bool Conv2d::accept_inference_fold() {
  if (fused_relu_ || fused_pool_ || folds_) return false;
  return folds_ = true;
}

void Conv2d::forward_folded(std::span<const Tensor> inputs, Tensor& output, const ChannelAffine& fold,
                            const PassContext& ctx) {
  CONVOY_ASSERT(folds_, "layer ", describe(), ": forward_folded without accept_inference_fold");
  Conv2dGeometry g = geometry(inputs[0].shape());
  g.fused_relu = fold.relu;
  // conv(x, w) * s + t = conv(x, w * s) + (b * s + t), per output channel, the folded weights
  // and bias ahead of the convolution's own scratch.
  const std::span<float> scratch = ctx.scratch_span();
  float* folded_weight = scratch.data();
  float* folded_bias = folded_weight + weight_.numel();
  const int64_t per_channel = weight_.numel() / options_.out_channels;
  for (int64_t o = 0; o < options_.out_channels; ++o) {
    const float s = fold.scale[o];
    const float* w = weight_.data() + o * per_channel;
    float* folded = folded_weight + o * per_channel;
    for (int64_t e = 0; e < per_channel; ++e) folded[e] = w[e] * s;
    folded_bias[o] = (options_.bias ? bias_[o] * s : 0.0f) + fold.shift[o];
  }
  conv2d_forward(g, inputs[0].data(), folded_weight, folded_bias, output.data(), scratch.subspan(folded_floats(g)),
                 ctx.threads, nullptr);
}

int64_t Conv2d::scratch_floats(std::span<const Shape> inputs, int threads) const {
  Conv2dGeometry g = geometry(inputs[0]);
  int64_t floats = conv2d_scratch_floats(g, threads);
  if (folds_) {  // inference runs forward_folded, whose geometry may fuse the batch norm's ReLU
    g.fused_relu = true;
    floats = std::max(floats, folded_floats(g) + conv2d_scratch_floats(g, threads));
  }
  return floats;
}

double Conv2d::forward_flops(std::span<const Shape> inputs) const { return geometry(inputs[0]).forward_flops(); }

void Conv2d::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) {
  const Conv2dGeometry g = geometry(inputs[0].shape());
  if (static_cast<int64_t>(pool_winners_.size()) < g.pool_winner_bytes()) pool_winners_.resize(g.pool_winner_bytes());
  conv2d_forward(g, inputs[0].data(), weight_.data(), options_.bias ? bias_.data() : nullptr, output.data(),
                 ctx.scratch_span(), ctx.threads, pool_winners_.data());
}

void Conv2d::backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                      std::span<Tensor> input_grads, const PassContext& ctx) {
  const Conv2dGeometry g = geometry(inputs[0].shape());
  conv2d_backward_weights(g, inputs[0].data(), output.data(), output_grad.data(), weight_grad_.data(),
                          options_.bias ? bias_grad_.data() : nullptr, ctx.scratch_span(), ctx.threads,
                          pool_winners_.data());
  if (!input_grads[0].empty())
    conv2d_backward_data(g, output.data(), output_grad.data(), weight_.data(), input_grads[0].data(),
                         ctx.scratch_span(), ctx.threads, pool_winners_.data());
}

}  // namespace convoy
