// FP8 on the GPU against the host oracle (quant/fp8.h): the quantizing kernels bit for bit, and the FP8 GEMMs
// of cuda::Linear on identical quantized inputs (rel L2 <= 2e-3). The whole DiT in each mode:
// wan_dit_gpu_test.
#include <cmath>
#include <cstring>

#include "gpu/gpu_test_util.h"
#include "models/common/cuda/linear.h"
#include "ops/cuda/quant.h"
#include "quant/fp8.h"

namespace fastwan {
namespace {

using quant::Fp8Granularity;

// Random bf16 rows with an outlier column, an all-zero row and a tiny row: the scale corner cases.
Tensor awkward_bf16(int64_t rows, int64_t cols, uint64_t seed) {
  Tensor t = test::random_tensor({rows, cols}, seed);
  float* p = t.f32();
  for (int64_t r = 0; r < rows; ++r) p[r * cols + 5 % cols] *= 40.0f;
  for (int64_t c = 0; c < cols; ++c) {
    p[1 * cols + c] = 0.0f;
    p[2 * cols + c] *= 1e-6f;
  }
  return t.to(DType::bf16);
}

class Fp8QuantizeGpu : public ::testing::TestWithParam<std::tuple<int, int, bool>> {};

TEST_P(Fp8QuantizeGpu, CodesAndScalesEqualTheHostOracle) {
  FW_REQUIRE_GPU();
  const auto [rows, cols, per_row] = GetParam();
  auto& ctx = test::context();
  const Tensor x = awkward_bf16(rows, cols, 21);
  const Tensor dx = cuda::to_device(x, DType::bf16);
  Tensor codes = test::poisoned({rows, cols}, DType::u8);
  Tensor scales = test::poisoned({per_row ? rows : 1}, DType::f32);
  Tensor amax = test::poisoned({1}, DType::f32);
  FW_CUDA_CHECK(cudaMemset(amax.raw(), 0, 4));
  cuda::Fp8QuantizeParams q;
  q.x = dx.raw();
  q.rows = rows;
  q.cols = cols;
  q.ld_x = cols;
  q.codes = codes.raw();
  q.scale = scales.data<float>();
  q.per_row = per_row;
  if (!per_row) {
    q.amax = amax.data<float>();
    cuda::fp8_amax(dx.raw(), rows, cols, cols, amax.data<float>(), ctx.stream());
  }
  cuda::fp8_quantize(q, ctx.stream());
  FW_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
  ASSERT_OK_AND_ASSIGN(
      auto want, quant::quantize_fp8(x, per_row ? Fp8Granularity::per_row : Fp8Granularity::per_tensor, "x"));
  const Tensor got_codes = cuda::to_host(codes), got_scales = cuda::to_host(scales);
  EXPECT_EQ(std::memcmp(got_codes.raw(), want.codes.data(), want.codes.size()), 0) << "codes differ";
  EXPECT_EQ(std::memcmp(got_scales.raw(), want.scales.data(), want.scales.size() * 4), 0) << "scales differ";
  int64_t mismatches = 0;
  for (size_t i = 0; i < want.codes.size(); ++i) mismatches += got_codes.data<uint8_t>()[i] != want.codes[i];
  std::printf("fp8 quantize %dx%d %s: %lld of %zu codes differ from the host oracle\n", rows, cols,
              per_row ? "per row" : "per tensor", static_cast<long long>(mismatches), want.codes.size());
}

INSTANTIATE_TEST_SUITE_P(Shapes, Fp8QuantizeGpu,
                         ::testing::Values(std::tuple{300, 1536, false}, std::tuple{300, 1536, true},
                                           std::tuple{77, 8960, false}, std::tuple{77, 8960, true},
                                           std::tuple{3, 64, false}, std::tuple{4, 8, true}));

struct LinearCase {
  int m, n, k, parts;
  quant::LinearMode mode;
  bool gelu;
};

class Fp8LinearGpu : public ::testing::TestWithParam<LinearCase> {};

// The reference multiplies the very codes and scales the GPU used (dequantized on the host) in fp32, so the
// bound measures the GEMM (fp32 accumulation order, bf16 output), not the quantization.
TEST_P(Fp8LinearGpu, MatchesTheCpuProductOfTheSameQuantizedOperands) {
  FW_REQUIRE_GPU();
  const LinearCase c = GetParam();
  auto& ctx = test::context();
  const Tensor x = awkward_bf16(c.m, c.k, 31);
  const Tensor w =
      test::random_tensor({c.n, c.k}, 32, 1.0f / std::sqrt(static_cast<float>(c.k))).to(DType::bf16);
  const Tensor b = test::random_tensor({c.n}, 33).to(DType::bf16);
  const cuda::Linear lin = cuda::Linear::create(ctx, cuda::to_device(w, DType::bf16),
                                                cuda::to_device(b, DType::bf16), c.mode, c.parts);
  cuda::Arena counting = cuda::Arena::counting();
  cuda::QuantizedInput q;
  q.layout(counting, c.m, c.k, c.mode);
  cuda::Arena arena(counting.used());
  q.layout(arena, c.m, c.k, c.mode);
  const Tensor dx = cuda::to_device(x, DType::bf16);
  q.reset_amax(ctx);
  q.measure(ctx, dx.raw(), c.k, c.m, c.k);
  const cuda::LinearInput in = q.quantize(ctx, dx.raw(), c.k, c.m, c.k);
  Tensor out = test::poisoned({c.m, c.n}, DType::bf16);
  lin.forward(ctx, in, c.m, {out.raw(), c.n, c.gelu});
  FW_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));

  // The operands the GPU multiplied: the oracle's codes (checked equal above) dequantized.
  const auto g = c.mode == quant::LinearMode::fp8_row ? Fp8Granularity::per_row : Fp8Granularity::per_tensor;
  ASSERT_OK_AND_ASSIGN(Tensor xq, quant::fake_quantize_fp8(x, g, "x"));
  Tensor wq = Tensor::empty({c.n, c.k}, DType::f32);
  const int64_t part = c.mode == quant::LinearMode::fp8 ? c.n / c.parts : c.n;
  for (int64_t r0 = 0; r0 < c.n; r0 += part) {
    ASSERT_OK_AND_ASSIGN(Tensor p, quant::fake_quantize_fp8(w.slice(0, r0, r0 + part).contiguous(), g, "w"));
    std::memcpy(wq.f32() + r0 * c.k, p.raw(), p.nbytes());
  }
  Tensor ref = ops::linear(xq, wq, b.to_f32());
  if (c.gelu) ops::gelu_tanh_(ref);
  const double err = test::rel_l2(out, ref);
  std::printf("fp8 linear %dx%dx%d (%s, %d parts%s): rel L2 vs CPU %.3e\n", c.m, c.n, c.k,
              std::string(quant::linear_mode_name(c.mode)).c_str(), c.parts, c.gelu ? ", gelu" : "", err);
  EXPECT_LT(err, 2e-3);
}

INSTANTIATE_TEST_SUITE_P(WanShapes, Fp8LinearGpu,
                         ::testing::Values(LinearCase{777, 4608, 1536, 3, quant::LinearMode::fp8, false},
                                           LinearCase{777, 4608, 1536, 3, quant::LinearMode::fp8_row, false},
                                           LinearCase{300, 8960, 1536, 1, quant::LinearMode::fp8, true},
                                           LinearCase{300, 1536, 8960, 1, quant::LinearMode::fp8, false},
                                           LinearCase{512, 1536, 1536, 1, quant::LinearMode::fp8_row, false},
                                           LinearCase{33, 1536, 1536, 1, quant::LinearMode::fp8, false}));

TEST(Fp8LinearGpu, AModeMismatchIsCaught) {
  FW_REQUIRE_GPU();
  auto& ctx = test::context();
  const Tensor w = cuda::to_device(test::random_tensor({64, 64}, 1).to(DType::bf16), DType::bf16);
  const cuda::Linear lin = cuda::Linear::create(ctx, w, Tensor(), quant::LinearMode::fp8);
  Tensor out = test::poisoned({4, 64}, DType::bf16);
  EXPECT_THROW(lin.forward(ctx, {w.raw(), 64, nullptr}, 4, {out.raw(), 64}), std::exception);
}

}  // namespace
}  // namespace fastwan
