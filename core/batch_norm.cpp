#include "core/batch_norm.hpp"

#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "core/kernels/batch_norm_kernels.hpp"

namespace convoy {
namespace {

ChannelBlock block_of(const Shape& shape, int threads) {
  const int64_t plane = shape.rank() == 4 ? shape[2] * shape[3] : 1;
  return {.n = shape[0], .channels = shape[1], .plane = plane, .threads = threads};
}

}  // namespace

BatchNorm::BatchNorm(BatchNormOptions options) : options_(options) {
  CONVOY_CHECK(options_.momentum >= 0.0 && options_.momentum <= 1.0, ConfigError,
               "batch_norm: momentum must be in [0, 1], found ", options_.momentum);
  CONVOY_CHECK(options_.epsilon > 0.0, ConfigError, "batch_norm: epsilon must be positive, found ", options_.epsilon);
}

std::string BatchNorm::describe() const {
  char text[96];
  std::snprintf(text, sizeof text, "batch_norm momentum %g epsilon %g%s", options_.momentum, options_.epsilon,
                options_.affine ? "" : " no affine");
  return std::string(text) + (fused_add_ ? " + add" : "") + (fused_relu_ ? " + relu" : "");
}

Shape BatchNorm::output_shape(std::span<const Shape> inputs) const {
  const size_t expected = fused_add_ ? 2 : 1;
  CONVOY_CHECK(inputs.size() == expected, ShapeError, "layer ", describe(), ": expected ", expected, " input",
               expected == 1 ? "" : "s", ", found ", inputs.size());
  CONVOY_CHECK(!fused_add_ || inputs[1] == inputs[0], ShapeError, "layer ", describe(), ": the residual input is ",
               inputs[1].str(), ", the normalised input ", inputs[0].str());
  CONVOY_CHECK(inputs[0].rank() == 4 || inputs[0].rank() == 2, ShapeError, "layer ", describe(),
               ": expected an input [N, C, H, W] or [N, C], found ", inputs[0].str());
  return inputs[0];
}

std::vector<ParameterSpec> BatchNorm::parameter_specs(std::span<const Shape> inputs) const {
  if (!options_.affine) return {};
  const Shape c{inputs[0][1]};
  return {{"weight", c, Init::ones}, {"bias", c, Init::zeros}};
}

void BatchNorm::bind_parameters(std::span<Tensor> parameters, std::span<Tensor> gradients) {
  if (!options_.affine) return;
  weight_ = parameters[0], bias_ = parameters[1];
  weight_grad_ = gradients[0], bias_grad_ = gradients[1];
}

std::vector<BufferSpec> BatchNorm::buffer_specs(std::span<const Shape> inputs) const {
  const Shape c{inputs[0][1]};
  return {{"running_mean", c, 0.0f}, {"running_var", c, 1.0f}};
}

void BatchNorm::bind_buffers(std::span<Tensor> buffers) {
  running_mean_ = buffers[0], running_var_ = buffers[1];
  channels_ = running_mean_.numel();
  for (auto* v : {&mean_, &inv_std_, &scale_, &shift_, &mean_dy_, &mean_dy_xhat_}) v->assign(channels_, 0.0f);
  sums_.assign(2 * channels_ + 1, 0.0);
}

int64_t BatchNorm::scratch_floats(std::span<const Shape> inputs, int threads) const {
  return 2 * channel_sums_scratch(block_of(inputs[0], threads));  // doubles
}

double BatchNorm::forward_flops(std::span<const Shape> inputs) const { return 2.0 * inputs[0].numel(); }

void BatchNorm::batch_statistics(const float* x, int64_t n, int64_t plane, const PassContext& ctx) {
  const ChannelBlock b{.n = n, .channels = channels_, .plane = plane, .threads = ctx.threads};
  auto* scratch = reinterpret_cast<double*>(ctx.scratch);
  double* sums = sums_.data();
  channel_sums(x, nullptr, b, sums, scratch);
  sums[channels_] = static_cast<double>(n * plane);
  ctx.sum_over_ranks(sums, channels_ + 1);
  count_ = sums[channels_];
  CONVOY_CHECK(count_ > 0, ShapeError, "layer ", describe(), ": no samples in the global batch");
  for (int64_t c = 0; c < channels_; ++c) mean_[c] = static_cast<float>(sums[c] / count_);
  channel_sums(x, mean_.data(), b, sums, scratch);
  ctx.sum_over_ranks(sums, channels_);
  const double m = options_.momentum, unbias = count_ > 1 ? count_ / (count_ - 1) : 1.0;
  for (int64_t c = 0; c < channels_; ++c) {
    const double var = sums[c] / count_;
    inv_std_[c] = static_cast<float>(1.0 / std::sqrt(var + options_.epsilon));
    running_mean_[c] = static_cast<float>((1.0 - m) * running_mean_[c] + m * mean_[c]);
    running_var_[c] = static_cast<float>((1.0 - m) * running_var_[c] + m * var * unbias);
  }
}

void BatchNorm::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) {
  const Tensor& x = inputs[0];
  const ChannelBlock b = block_of(x.shape(), ctx.threads);
  if (ctx.training) {
    batch_statistics(x.data(), b.n, b.plane, ctx);
    for (int64_t c = 0; c < channels_; ++c) {
      scale_[c] = options_.affine ? weight_[c] * inv_std_[c] : inv_std_[c];
      shift_[c] = (options_.affine ? bias_[c] : 0.0f) - mean_[c] * scale_[c];
    }
  } else {
    running_affine();
  }
  channel_affine(x.data(), scale_.data(), shift_.data(), fused_add_ ? inputs[1].data() : nullptr, fused_relu_, b,
                 output.data());
}

void BatchNorm::running_affine() {
  for (int64_t c = 0; c < channels_; ++c) {
    mean_[c] = running_mean_[c];
    inv_std_[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var_[c]) + options_.epsilon));
    scale_[c] = options_.affine ? weight_[c] * inv_std_[c] : inv_std_[c];
    shift_[c] = (options_.affine ? bias_[c] : 0.0f) - mean_[c] * scale_[c];
  }
}

Layer::ChannelAffine BatchNorm::inference_affine() {
  running_affine();
  return {.scale = scale_.data(), .shift = shift_.data(), .relu = fused_relu_};
}

// A residual add, then a ReLU (Note [Fused residual add]); or a ReLU alone.
bool BatchNorm::accept_post_op(PostOp op) {
  if (fused_relu_) return false;
  if (op == PostOp::relu) return fused_relu_ = true;
  if (op == PostOp::residual_add && !fused_add_) return fused_add_ = true;
  return false;
}

void BatchNorm::gradient_statistics(const float* dy, const float* gate, const float* x, int64_t n, int64_t plane,
                                    const PassContext& ctx) {
  const ChannelBlock b{.n = n, .channels = channels_, .plane = plane, .threads = ctx.threads};
  double* sums = sums_.data();  // [sum dy (C), sum dy xhat (C)]
  channel_gradient_sums(dy, gate, x, mean_.data(), inv_std_.data(), b, sums, sums + channels_,
                        options_.affine ? weight_grad_.data() : nullptr, options_.affine ? bias_grad_.data() : nullptr,
                        reinterpret_cast<double*>(ctx.scratch));
  ctx.sum_over_ranks(sums, 2 * channels_);
  for (int64_t c = 0; c < channels_; ++c) {
    mean_dy_[c] = static_cast<float>(sums[c] / count_);
    mean_dy_xhat_[c] = static_cast<float>(sums[channels_ + c] / count_);
  }
}

void BatchNorm::backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                         std::span<Tensor> input_grads, const PassContext& ctx) {
  CONVOY_ASSERT(ctx.training, "batch_norm backward after an inference-mode forward");
  const Tensor& x = inputs[0];
  const ChannelBlock b = block_of(x.shape(), ctx.threads);
  const float* gate = fused_relu_ ? output.data() : nullptr;
  gradient_statistics(output_grad.data(), gate, x.data(), b.n, b.plane, ctx);
  float* residual_grad = fused_add_ && !input_grads[1].empty() ? input_grads[1].data() : nullptr;
  if (input_grads[0].empty()) {
    // The normalised input is the model's input; the residual's gradient is still wanted.
    const float* dy = output_grad.data();
    for (int64_t e = 0; residual_grad != nullptr && e < output_grad.numel(); ++e)
      residual_grad[e] = gate == nullptr || gate[e] > 0.0f ? dy[e] : 0.0f;
    return;
  }
  std::vector<float>& k = scale_;  // gamma * inv_std, from forward
  batch_norm_input_grad(output_grad.data(), gate, x.data(), mean_.data(), inv_std_.data(), k.data(), mean_dy_.data(),
                        mean_dy_xhat_.data(), b, input_grads[0].data(), residual_grad);
}

void BatchNorm::pass_without_samples(bool backward, const PassContext& ctx) {
  if (!ctx.training) return;
  if (backward) {
    gradient_statistics(nullptr, nullptr, nullptr, 0, 1, ctx);
  } else {
    batch_statistics(nullptr, 0, 1, ctx);
  }
}

}  // namespace convoy
