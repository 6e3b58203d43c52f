// The convolution kernels against a naive reference, on every ISA, with 1 and 2 threads.
#include "core/kernels/conv2d_kernels.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/cpu_features.hpp"
#include "core/kernels/reference_shapes.hpp"
#include "core/rng.hpp"

namespace convoy {
namespace {

std::vector<float> random_values(int64_t n, uint64_t seed) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 2.0f * random_uniform(seed, RandomPurpose::init, 7, i) - 1.0f;
  return v;
}

// Naive convolution in double: y[n][co][oy][ox] = b[co] + sum x[n][c][iy][ix] * w[co][c][kh][kw].
struct Reference {
  std::vector<double> output, input_grad, weight_grad, bias_grad;
};

Reference naive(const Conv2dGeometry& g, const std::vector<float>& x, const std::vector<float>& w,
                const std::vector<float>& b, const std::vector<float>& og) {
  Reference r;
  r.output.assign(g.batch * g.out_channels * g.out_pixels(), 0.0);
  r.input_grad.assign(x.size(), 0.0);
  r.weight_grad.assign(w.size(), 0.0);
  r.bias_grad.assign(g.out_channels, 0.0);
  auto xi = [&](int64_t n, int64_t c, int64_t y, int64_t xx) { return ((n * g.in_channels + c) * g.in_h + y) * g.in_w + xx; };
  auto wi = [&](int64_t co, int64_t c, int64_t kh, int64_t kw) {
    return ((co * g.in_channels + c) * g.kernel_h + kh) * g.kernel_w + kw;
  };
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co)
      for (int64_t oy = 0; oy < g.out_h; ++oy)
        for (int64_t ox = 0; ox < g.out_w; ++ox) {
          const int64_t o = ((n * g.out_channels + co) * g.out_h + oy) * g.out_w + ox;
          double sum = b[co];
          for (int64_t c = 0; c < g.in_channels; ++c)
            for (int64_t kh = 0; kh < g.kernel_h; ++kh)
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t iy = oy * g.stride_h - g.pad_top + kh, ix = ox * g.stride_w - g.pad_left + kw;
                if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w) sum += double(x[xi(n, c, iy, ix)]) * w[wi(co, c, kh, kw)];
              }
          if (g.fused_relu) sum = std::max(sum, 0.0);
          r.output[o] = sum;
          const double grad = g.fused_relu && sum <= 0.0 ? 0.0 : og[o];
          r.bias_grad[co] += grad;
          for (int64_t c = 0; c < g.in_channels; ++c)
            for (int64_t kh = 0; kh < g.kernel_h; ++kh)
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t iy = oy * g.stride_h - g.pad_top + kh, ix = ox * g.stride_w - g.pad_left + kw;
                if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) continue;
                r.input_grad[xi(n, c, iy, ix)] += grad * w[wi(co, c, kh, kw)];
                r.weight_grad[wi(co, c, kh, kw)] += grad * x[xi(n, c, iy, ix)];
              }
        }
  return r;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-4 * (1.0 + std::abs(want[i]))) << what << " element " << i;
}

// (batch, cin, h, w, cout, kh, kw, stride, pad_top, pad_left, out_h, out_w, fused_relu)
// A case a line, as clang-format would spread each over a dozen.
// clang-format off
const Conv2dGeometry kCases[] = {
    {.batch = 11, .in_channels = 1, .in_h = 9, .in_w = 8, .out_channels = 5, .out_h = 7, .out_w = 6, .kernel_h = 3, .kernel_w = 3},
    {.batch = 17, .in_channels = 3, .in_h = 5, .in_w = 5, .out_channels = 33, .out_h = 3, .out_w = 3, .kernel_h = 3, .kernel_w = 3, .fused_relu = true},
    {.batch = 3, .in_channels = 17, .in_h = 7, .in_w = 6, .out_channels = 4, .out_h = 4, .out_w = 3, .kernel_h = 2, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_left = 0},
    {.batch = 9, .in_channels = 2, .in_h = 6, .in_w = 7, .out_channels = 6, .out_h = 6, .out_w = 7, .kernel_h = 5, .kernel_w = 5, .pad_top = 2, .pad_left = 2, .fused_relu = true},
    {.batch = 1, .in_channels = 4, .in_h = 3, .in_w = 3, .out_channels = 2, .out_h = 3, .out_w = 3, .kernel_h = 1, .kernel_w = 1},
    {.batch = 16, .in_channels = 8, .in_h = 12, .in_w = 12, .out_channels = 16, .out_h = 10, .out_w = 10, .kernel_h = 3, .kernel_w = 3, .fused_relu = true},
    // Note [Same convolution] with the fused ReLU: backward-data masks a band of the gradient.
    {.batch = 3, .in_channels = 16, .in_h = 96, .in_w = 3, .out_channels = 21, .out_h = 96, .out_w = 3, .kernel_h = 3, .kernel_w = 3, .pad_top = 1, .pad_left = 1, .fused_relu = true},
    // Note [Samples as columns] with the fused ReLU: backward-data gates the transposed gradient.
    {.batch = 33, .in_channels = 16, .in_h = 5, .in_w = 5, .out_channels = 17, .out_h = 3, .out_w = 3, .kernel_h = 3, .kernel_w = 3, .fused_relu = true},
    // Note [Winograd F(2x2, 3x3)] with the fused ReLU: backward-data gates the gradient.
    {.batch = 3, .in_channels = 16, .in_h = 20, .in_w = 40, .out_channels = 21, .out_h = 20, .out_w = 40, .kernel_h = 3, .kernel_w = 3, .pad_top = 1, .pad_left = 1, .fused_relu = true},
    {.batch = 2, .in_channels = 20, .in_h = 18, .in_w = 17, .out_channels = 16, .out_h = 16, .out_w = 15, .kernel_h = 3, .kernel_w = 3, .fused_relu = true},
    // The same on narrow planes (Note [Winograd segments]): two tile rows a vector, across samples.
    {.batch = 5, .in_channels = 16, .in_h = 8, .in_w = 8, .out_channels = 20, .out_h = 8, .out_w = 8, .kernel_h = 3, .kernel_w = 3, .pad_top = 1, .pad_left = 1, .fused_relu = true},
    {.batch = 3, .in_channels = 17, .in_h = 9, .in_w = 13, .out_channels = 16, .out_h = 7, .out_w = 11, .kernel_h = 3, .kernel_w = 3, .fused_relu = true},
};
// clang-format on

TEST(Conv2dKernels, MatchNaiveReferenceOnEveryIsaAndThreadCount) {
  const Isa original = active_isa();
  for (const Conv2dGeometry& g : kCases) {
    const auto x = random_values(g.batch * g.in_channels * g.in_h * g.in_w, 1);
    const auto w = random_values(g.out_channels * g.patch(), 2);
    const auto b = random_values(g.out_channels, 3);
    const auto og = random_values(g.batch * g.out_channels * g.out_pixels(), 4);
    const Reference ref = naive(g, x, w, b, og);
    std::vector<float> first_bits;
    for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
      if (!set_isa(isa)) continue;
      for (int threads : {1, 2}) {
        SCOPED_TRACE(isa_name(isa) + ", " + std::to_string(threads) + " threads, batch " + std::to_string(g.batch));
        std::vector<float> scratch(conv2d_scratch_floats(g, threads)), y(ref.output.size()), dx(x.size(), NAN),
            dw(w.size(), 0.0f), db(b.size(), 0.0f);
        conv2d_forward(g, x.data(), w.data(), b.data(), y.data(), scratch, threads);
        conv2d_backward_data(g, y.data(), og.data(), w.data(), dx.data(), scratch, threads);
        conv2d_backward_weights(g, x.data(), y.data(), og.data(), dw.data(), db.data(), scratch, threads);
        expect_close(y, ref.output, "output");
        expect_close(dx, ref.input_grad, "input_grad");
        expect_close(dw, ref.weight_grad, "weight_grad");
        expect_close(db, ref.bias_grad, "bias_grad");
        std::vector<float> bits = y;
        bits.insert(bits.end(), dx.begin(), dx.end());
        bits.insert(bits.end(), dw.begin(), dw.end());
        bits.insert(bits.end(), db.begin(), db.end());
        if (threads == 1) first_bits = bits;
        else EXPECT_EQ(0, std::memcmp(first_bits.data(), bits.data(), bits.size() * sizeof(float))) << "1 vs 2 threads";
      }
    }
  }
  set_isa(original);
}

// The kernel choice, pinned for the reference shapes of `convoy bench --shapes` and one geometry per remaining
// table entry (Note [Convolution implementation tables]), so a change of the rules shows here
// and not only as a slower benchmark.
TEST(Conv2dKernels, EachShapeTakesItsKernel) {
  const Isa original = active_isa();
  if (!set_isa(Isa::avx512)) GTEST_SKIP() << "no AVX-512 here: the choice is im2col throughout";
  auto shape = [](int64_t n, int64_t cin, int64_t hw, int64_t cout, int64_t k, int64_t pad) {
    return ReferenceConvShape{n, cin, hw, hw, cout, k, pad}.geometry();
  };
  struct Case {
    Conv2dGeometry g;
    std::string forward, backward_data, backward_weights;
  };
  // One row per reference shape, in the list's order.
  const Case reference[] = {
      {{}, "im2col", "im2col", "im2col"},
      {{}, "winograd", "sample-columns", "winograd"},
      {{}, "sample-columns", "sample-columns", "im2col"},
      {{}, "im2col", "im2col", "im2col"},
      {{}, "same", "same", "1x1-gemm"},
      {{}, "im2col", "im2col", "im2col"},
      {{}, "im2col", "im2col", "im2col"},
      {{}, "winograd", "winograd", "winograd"},
      {{}, "im2col", "im2col", "im2col"},
      {{}, "im2col", "sample-columns", "im2col"},
      {{}, "sample-columns", "sample-columns", "im2col"},
      {{}, "winograd", "winograd", "winograd"},
  };
  static_assert(std::size(reference) == std::size(kReferenceConvShapes));
  std::vector<Case> cases;
  for (size_t i = 0; i < std::size(reference); ++i) {
    cases.push_back(reference[i]);
    cases.back().g = kReferenceConvShapes[i].geometry();
  }
  Conv2dGeometry pooled = kReferenceConvShapes[1].geometry();
  pooled.fused_relu = pooled.fused_pool = true;
  Conv2dGeometry tall = shape(2, 16, 3, 16, 3, 1);
  tall.in_h = tall.out_h = 96;
  cases.insert(cases.end(),
               {
                   {pooled, "winograd", "im2col", "im2col"},
                   {shape(2, 16, 40, 16, 5, 2), "same", "same", "shifted-rows"},
                   {tall, "same", "same", "im2col"},
                   {shape(2, 4, 40, 24, 3, 1), "shifted-rows", "shifted-rows", "shifted-rows"},
                   // Note [1x1 convolutions as GEMMs]: ResNet-18's projection shortcut,
                   // GoogLeNet's reductions at 14x14 and 7x7.
                   {ReferenceConvShape{32, 64, 56, 56, 128, 1, 0, 2}.geometry(), "1x1-gemm", "1x1-gemm", "1x1-gemm"},
                   {shape(64, 480, 14, 192, 1, 0), "im2col", "1x1-gemm", "1x1-gemm"},
                   {shape(64, 832, 7, 256, 1, 0), "im2col", "sample-columns", "1x1-gemm"},
                   // At 64x64 inputs: ResNet-18's 4x4 -> 2x2 shortcut.
                   {ReferenceConvShape{64, 256, 4, 4, 512, 1, 0, 2}.geometry(), "im2col", "im2col", "im2col"},
                   // Narrow planes of even size: resnet20's last stage, ResNet-18's 8x8 (64x64 inputs).
                   {shape(64, 64, 8, 64, 3, 1), "winograd", "winograd", "winograd"},
                   {shape(64, 128, 8, 128, 3, 1), "winograd", "winograd", "winograd"},
                   // ResNet-18's 3x3 layers at 4x4 (64x64 inputs): four tiles a sample.
                   {shape(64, 256, 4, 256, 3, 1), "sample-columns", "sample-columns", "im2col"},
               });
  std::set<std::string> forward, backward_data, backward_weights;
  for (const Case& c : cases) {
    const Conv2dChoice got = conv2d_choice(c.g, 2);
    const std::string shape = std::to_string(c.g.in_channels) + "x" + std::to_string(c.g.in_h) + "x" +
                              std::to_string(c.g.in_w) + " -> " + std::to_string(c.g.out_channels) + ", " +
                              std::to_string(c.g.kernel_h) + "x" + std::to_string(c.g.kernel_w) + "/" +
                              std::to_string(c.g.stride_h);
    EXPECT_EQ(got.forward->name, c.forward) << shape;
    EXPECT_EQ(got.backward_data->name, c.backward_data) << shape;
    EXPECT_EQ(got.backward_weights->name, c.backward_weights) << shape;
    forward.insert(got.forward->name);
    backward_data.insert(got.backward_data->name);
    backward_weights.insert(got.backward_weights->name);
  }
  // Every entry of the three tables is some case's choice: a new entry needs its row above.
  for (const auto& impl : conv2d_forward_impls()) EXPECT_TRUE(forward.count(impl.name)) << "forward " << impl.name;
  for (const auto& impl : conv2d_backward_data_impls())
    EXPECT_TRUE(backward_data.count(impl.name)) << "backward-data " << impl.name;
  for (const auto& impl : conv2d_backward_weights_impls())
    EXPECT_TRUE(backward_weights.count(impl.name)) << "backward-weights " << impl.name;
  set_isa(original);
}

// In a debug build each pass checks its scratch against conv2d_scratch_floats; a release build
// skips the check (it plans the chunks again on every call).
TEST(Conv2dKernels, TooSmallScratchIsAnInternalErrorInDebugBuilds) {
#ifdef NDEBUG
  GTEST_SKIP() << "release build: CONVOY_DEBUG_ASSERT is compiled out";
#else
  const Conv2dGeometry g = ReferenceConvShape{2, 3, 8, 8, 4, 3, 1}.geometry();
  std::vector<float> x(g.batch * g.in_channels * g.in_h * g.in_w, 0.5f), w(g.out_channels * g.patch(), 0.1f),
      b(g.out_channels), y(g.batch * g.out_channels * g.out_pixels()), dx(x.size()), dw(w.size()), db(b.size());
  std::vector<float> scratch(conv2d_scratch_floats(g, 2) - 1);
  EXPECT_THROW(conv2d_forward(g, x.data(), w.data(), b.data(), y.data(), scratch, 2), InternalError);
  EXPECT_THROW(conv2d_backward_data(g, nullptr, y.data(), w.data(), dx.data(), scratch, 2), InternalError);
  EXPECT_THROW(conv2d_backward_weights(g, x.data(), nullptr, y.data(), dw.data(), db.data(), scratch, 2),
               InternalError);
  scratch.resize(scratch.size() + 1);
  EXPECT_NO_THROW(conv2d_forward(g, x.data(), w.data(), b.data(), y.data(), scratch, 2));
#endif
}

}  // namespace
}  // namespace convoy
