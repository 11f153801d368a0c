// FP8 and NVFP4 on the GPU against the host oracles (quant/fp8.h, quant/nvfp4.h): the quantizing kernels bit
// for bit, and the quantized GEMMs of cuda::Linear on identical quantized inputs (rel L2 <= 2e-3). The whole
// DiT in each mode: wan_dit_gpu_test.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_map>

#include "gpu/gpu_test_util.h"
#include "models/common/cuda/linear.h"
#include "ops/cuda/quant.h"
#include "quant/fp8.h"
#include "quant/nvfp4.h"
#include "quant/nvfp4_math.h"

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

// The form in which a linear in `mode` reads the device bf16 activation dx [m, k], in buffers of its own; a
// per-tensor amax is measured by a pass of its own (in the models the producers fold it in).
struct QuantizedActivation {
  QuantizedActivation(cuda::DeviceContext& ctx, const Tensor& dx, int64_t m, int64_t k,
                      quant::LinearMode mode)
      : arena(bytes(m, k, mode)) {
    q.layout(arena, m, k, mode);
    q.reset_amax(ctx);
    q.measure(ctx, dx.raw(), k, m, k);
    input = q.quantize(ctx, dx.raw(), k, m, k);
  }
  static size_t bytes(int64_t m, int64_t k, quant::LinearMode mode) {
    cuda::Arena counting = cuda::Arena::counting();
    cuda::QuantizedInput sizing;
    sizing.layout(counting, m, k, mode);
    return std::max<size_t>(counting.used(), 256);
  }

  cuda::Arena arena;
  cuda::QuantizedInput q;
  cuda::LinearInput input;
};

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
  const Tensor dx = cuda::to_device(x, DType::bf16);
  const QuantizedActivation qa(ctx, dx, c.m, c.k, c.mode);
  const cuda::LinearInput in = qa.input;
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
                                           // More products than the per-row path's scratch holds: two
                                           // blocks of rows (gemm.cpp), and its GELU epilogue.
                                           LinearCase{2000, 8960, 1536, 1, quant::LinearMode::fp8_row, true},
                                           LinearCase{33, 1536, 1536, 1, quant::LinearMode::fp8, false}));

// ---------------------------------------------------------------------------------------------------------
// NVFP4. The kernel takes rcp.approx.ftz.f32 where flashinfer does; the host oracle takes exact reciprocals
// unless it is handed the GPU's. DeviceReciprocal is that hand-over: it answers from a table of the GPU's
// reciprocals and notes what the table lacks; learn() reruns a computation, fetching the missing values from
// the GPU, until it asks for nothing new (SF depends on rcp(6), SF / g on rcp(g): a few rounds).
class DeviceReciprocal {
 public:
  quant::Nvfp4Reciprocal fn() {
    return [this](float v) {
      std::lock_guard<std::mutex> lock(mu_);
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      if (auto it = table_.find(bits); it != table_.end()) return it->second;
      missing_.insert(bits);
      return 1.0f / v;
    };
  }
  float operator()(float v) { return fn()(v); }

  template <class F>
  void learn(F&& compute) {
    for (int round = 0; round < 6; ++round) {
      compute();
      if (missing_.empty()) return;
      fetch();
    }
    FAIL() << "the host recipe kept asking for new reciprocals";
  }

 private:
  void fetch() {
    std::vector<float> in;
    for (uint32_t b : missing_) {
      float v;
      std::memcpy(&v, &b, 4);
      in.push_back(v);
    }
    missing_.clear();
    const int64_t n = static_cast<int64_t>(in.size());
    const Tensor din = cuda::to_device(Tensor::from_floats({n}, in), DType::f32);
    Tensor dout = test::poisoned({n}, DType::f32);
    cuda::nvfp4_reciprocals(din.data<float>(), dout.data<float>(), n, test::context().stream());
    FW_CUDA_CHECK(cudaStreamSynchronize(test::context().stream()));
    const Tensor out = cuda::to_host(dout);
    for (int64_t i = 0; i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &in[i], 4);
      table_[bits] = out.f32()[i];
    }
  }

  std::mutex mu_;
  std::unordered_map<uint32_t, float> table_;
  std::set<uint32_t> missing_;
};

// Random bf16 rows plus the cases NVFP4 must get right: a zero row, a row of blocks whose scale underflows
// (zeroed), a saturating row (|x| > 6 * 448), blocks whose amax is 6 times an E4M3 midpoint (the block scale
// is an exact tie) and blocks of exact E2M1 ties (x = midpoint * SF with SF = 1.25).
Tensor nvfp4_awkward(int64_t rows, int64_t cols, uint64_t seed) {
  Tensor t = test::random_tensor({rows, cols}, seed);
  float* p = t.f32();
  for (int64_t r = 5; r < rows; ++r) p[r * cols + 7 % cols] *= 30.0f;
  const float e4m3_mids[] = {1.0625f, 1.1875f, 1.3125f, 1.4375f, 1.5625f, 1.6875f, 1.8125f, 1.9375f};
  const float e2m1_mids[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  for (int64_t c = 0; c < cols; ++c) {
    p[0 * cols + c] = 0.0f;
    p[1 * cols + c] *= 1e-3f;
    p[2 * cols + c] *= 4000.0f;
    const int64_t b = c / 16, i = c % 16;
    if (rows > 3)
      p[3 * cols + c] =
          i == 0 ? 6.0f * e4m3_mids[b % 8] * (b % 3 == 0 ? 0.25f : 1.0f) : 0.2f * p[3 * cols + c];
    if (rows > 4) p[4 * cols + c] = i == 0 ? 7.5f : (i % 2 ? -1.25f : 1.25f) * e2m1_mids[(b + i) % 7];
  }
  return t.to(DType::bf16);
}

// Whether v is within 2^-20 (relative) of a rounding boundary of `round`: an exact tie, up to the last bits
// a reciprocal can move.
template <class R>
bool near_boundary(double v, R round) {
  return round(static_cast<float>(v * (1 - 0x1p-20))) != round(static_cast<float>(v * (1 + 0x1p-20)));
}

struct Nvfp4Case {
  int rows, cols, ld;
  bool weight;  // g = 448 * 6 / max|x| (a weight), else 1 (an activation)
};

class Nvfp4QuantizeGpu : public ::testing::TestWithParam<Nvfp4Case> {};

TEST_P(Nvfp4QuantizeGpu, ValuesEqualTheHostOracleWithTheGpusReciprocals) {
  FW_REQUIRE_GPU();
  const Nvfp4Case c = GetParam();
  auto& ctx = test::context();
  const Tensor padded = nvfp4_awkward(c.rows, c.ld, 41);
  const Tensor x = padded.slice(1, 0, c.cols).contiguous();
  const Tensor xf = x.to_f32();
  const float* xv = xf.f32();
  float amax = 0.0f;
  for (int64_t i = 0; i < x.numel(); ++i) amax = std::max(amax, std::fabs(xv[i]));
  const float g = c.weight ? quant::nvfp4_global_scale(amax) : 1.0f;

  const Tensor dx = cuda::to_device(padded, DType::bf16);
  Tensor out = test::poisoned({c.rows, c.cols}, DType::bf16);
  cuda::Nvfp4QuantizeParams q;
  q.x = dx.raw();
  q.rows = c.rows;
  q.cols = c.cols;
  q.ld_x = c.ld;
  q.out = out.raw();
  q.ld_out = c.cols;
  q.global_scale = g;
  cuda::nvfp4_quantize(q, ctx.stream());
  FW_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
  const Tensor got = cuda::to_host(out).to_f32();

  DeviceReciprocal rcp;
  quant::Nvfp4Matrix gpu_recipe;
  rcp.learn([&] {
    auto m = quant::quantize_nvfp4(x, g, "x", rcp.fn());
    ASSERT_TRUE(m.ok());
    gpu_recipe = std::move(*m);
  });
  const Tensor want = gpu_recipe.dequantize(1.0f);
  EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0) << "values differ from the host recipe";

  // Against the exact-reciprocal oracle: differences only at ties that the GPU's rcp moves.
  ASSERT_OK_AND_ASSIGN(auto exact, quant::quantize_nvfp4(x, g, "x"));
  const Tensor exact_values = exact.dequantize(1.0f);
  int64_t scale_ties = 0, code_ties = 0, unexplained = 0;
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t col = 0; col < c.cols; ++col) {
      const int64_t i = r * c.cols + col;
      if (exact_values.f32()[i] == got.f32()[i]) continue;
      const int64_t b = i / 16;
      float block_amax = 0.0f;
      for (int64_t k = 0; k < 16; ++k) block_amax = std::max(block_amax, std::fabs(xv[b * 16 + k]));
      if (exact.scales[b] != gpu_recipe.scales[b]) {
        const bool tie = near_boundary(static_cast<double>(g) * block_amax / 6.0,
                                       [](float s) { return quant::e4m3_scale(std::min(s, 448.0f)); });
        (tie ? scale_ties : unexplained) += 1;
      } else {
        const double y = static_cast<double>(xv[i]) * g / exact.scale_of(r, col);
        const bool tie = near_boundary(std::fabs(y), [](float a) { return quant::e2m1_index(a); });
        (tie ? code_ties : unexplained) += 1;
      }
    }
  EXPECT_EQ(unexplained, 0) << "values that differ from the exact-reciprocal oracle away from a tie";
  std::printf(
      "nvfp4 quantize %dx%d (ld %d, g %.6g): GPU = host recipe with the GPU's rcp; vs exact rcp %lld of "
      "%lld values differ (%lld at block-scale ties, %lld at E2M1 ties)\n",
      c.rows, c.cols, c.ld, g, static_cast<long long>(scale_ties + code_ties + unexplained),
      static_cast<long long>(x.numel()), static_cast<long long>(scale_ties),
      static_cast<long long>(code_ties));
}

INSTANTIATE_TEST_SUITE_P(Shapes, Nvfp4QuantizeGpu,
                         ::testing::Values(Nvfp4Case{300, 1536, 1536, false},
                                           Nvfp4Case{77, 8960, 8960, false}, Nvfp4Case{33, 1536, 1552, false},
                                           Nvfp4Case{5, 16, 24, false}, Nvfp4Case{300, 1536, 1536, true},
                                           Nvfp4Case{64, 4096, 4096, true}));

// The GPU's reciprocal of 6 and of the E4M3 mantissas (what the activation recipe divides by), printed beside
// the exact ones for docs/numerics.md; powers of two must be exact.
TEST(Nvfp4QuantizeGpu, TheGpusReciprocals) {
  FW_REQUIRE_GPU();
  DeviceReciprocal rcp;
  std::vector<float> v = {6.0f, 1.0f, 0.5f, 448.0f};
  for (int m = 0; m < 8; ++m) v.push_back(1.0f + m / 8.0f);
  rcp.learn([&] {
    for (float x : v) rcp(x);
  });
  int differ = 0;
  for (float x : v) {
    const float got = rcp(x), exact = 1.0f / x;
    differ += got != exact;
    std::printf("rcp.approx.ftz.f32(%g) = %.9g (0x%08x), exact %.9g%s\n", x, got,
                std::bit_cast<uint32_t>(got), exact, got == exact ? "" : "  <- differs");
    if (std::bit_cast<uint32_t>(x) % (1u << 23) == 0) {
      EXPECT_EQ(got, exact) << x;  // a power of two
    }
  }
  std::printf("%d of %zu reciprocals differ from the exactly rounded ones\n", differ, v.size());
}

TEST(Nvfp4QuantizeGpu, NanPropagatesAndInfinitySaturates) {
  FW_REQUIRE_GPU();
  auto& ctx = test::context();
  std::vector<float> v(32, 1.0f);
  v[3] = std::nanf("");
  v[20] = -INFINITY;
  const Tensor dx = cuda::to_device(Tensor::from_floats({1, 32}, v), DType::bf16);
  Tensor out = test::poisoned({1, 32}, DType::bf16);
  cuda::nvfp4_quantize({dx.raw(), 1, 32, 32, out.raw(), 32, 1.0f}, ctx.stream());
  FW_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
  const Tensor got = cuda::to_host(out).to_f32();
  EXPECT_TRUE(std::isnan(got.f32()[3]));
  // amax 1 (the NaN ignored): SF = e4m3(1/6) = 0.171875, 1 / SF = 5.8 -> 6, 6 * SF = 1.03125.
  EXPECT_EQ(got.f32()[0], 1.03125f);
  // amax inf: SF saturates at 448, the infinity at -6 * 448, and 1 / 448 rounds to 0.
  EXPECT_EQ(got.f32()[20], -2688.0f);
  EXPECT_EQ(got.f32()[16], 0.0f);
}

class Nvfp4LinearGpu : public ::testing::TestWithParam<LinearCase> {};

// As the FP8 test: the reference multiplies the operands the GPU multiplied (the host recipe with the GPU's
// reciprocals, equal to the kernel's values bit for bit above), so the bound measures the GEMM: fp32
// accumulation order, alpha = 1 / bf16(g) per part, the bias after alpha, bf16 output. The distance to the
// CPU fake quantization with exact reciprocals (the CPU model's) is printed beside.
TEST_P(Nvfp4LinearGpu, MatchesTheCpuFakeQuantization) {
  FW_REQUIRE_GPU();
  const LinearCase c = GetParam();
  auto& ctx = test::context();
  const Tensor x = awkward_bf16(c.m, c.k, 51);
  Tensor w = test::random_tensor({c.n, c.k}, 52, 1.0f / std::sqrt(static_cast<float>(c.k)));
  for (int64_t r = 0; r < c.n / c.parts; ++r) w.f32()[r * c.k] *= 3.0f;  // parts of different max|W|
  w = w.to(DType::bf16);
  const Tensor b = test::random_tensor({c.n}, 53).to(DType::bf16);
  const cuda::Linear lin = cuda::Linear::create(ctx, cuda::to_device(w, DType::bf16),
                                                cuda::to_device(b, DType::bf16), c.mode, c.parts);
  ASSERT_EQ(lin.weight().dtype(), DType::bf16);
  const Tensor dx = cuda::to_device(x, DType::bf16);
  ASSERT_EQ(c.mode, quant::LinearMode::nvfp4);
  const QuantizedActivation qa(ctx, dx, c.m, c.k, c.mode);
  EXPECT_EQ(qa.q.amax(), nullptr);  // nothing to gather: reset_amax and measure do nothing
  const cuda::LinearInput in = qa.input;
  EXPECT_EQ(in.mode, quant::LinearMode::nvfp4);
  Tensor out = test::poisoned({c.m, c.n}, DType::bf16);
  lin.forward(ctx, in, c.m, {out.raw(), c.n, c.gelu});
  FW_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));

  // The fake-quantized operands (each part of the weight with its own g), then their product.
  auto operands = [&](const quant::Nvfp4Reciprocal& rcp, Tensor& xq, Tensor& wq) {
    auto xr = quant::fake_quantize_nvfp4_input(x, "x", rcp);
    ASSERT_TRUE(xr.ok());
    xq = *xr;
    wq = Tensor::empty({c.n, c.k}, DType::f32);
    const int64_t part = c.n / c.parts;
    for (int64_t r0 = 0; r0 < c.n; r0 += part) {
      auto p = quant::fake_quantize_nvfp4_weight(w.slice(0, r0, r0 + part).contiguous(), "w", rcp);
      ASSERT_TRUE(p.ok());
      std::memcpy(wq.f32() + r0 * c.k, p->raw(), p->nbytes());
    }
  };
  auto product = [&](const Tensor& xq, const Tensor& wq) {
    Tensor ref = ops::linear(xq, wq, b.to_f32());
    if (c.gelu) ops::gelu_tanh_(ref);
    return ref;
  };
  DeviceReciprocal rcp;
  Tensor xq, wq, xq_exact, wq_exact;
  rcp.learn([&] { operands(rcp.fn(), xq, wq); });
  operands({}, xq_exact, wq_exact);
  const Tensor ref = product(xq, wq);
  const double err = test::rel_l2(out, ref);
  const double err_exact = test::rel_l2(out, product(xq_exact, wq_exact));
  std::printf(
      "nvfp4 linear %dx%dx%d (%d parts%s): rel L2 vs CPU with the GPU's rcp %.3e, with exact rcp %.3e\n", c.m,
      c.n, c.k, c.parts, c.gelu ? ", gelu" : "", err, err_exact);
  EXPECT_LT(err, 2e-3);
}

INSTANTIATE_TEST_SUITE_P(WanShapes, Nvfp4LinearGpu,
                         ::testing::Values(LinearCase{777, 4608, 1536, 3, quant::LinearMode::nvfp4, false},
                                           LinearCase{300, 8960, 1536, 1, quant::LinearMode::nvfp4, true},
                                           LinearCase{300, 1536, 8960, 1, quant::LinearMode::nvfp4, false},
                                           LinearCase{512, 1536, 4096, 1, quant::LinearMode::nvfp4, false},
                                           LinearCase{33, 1536, 1536, 1, quant::LinearMode::nvfp4, false}));

// A linear checks that its input is in its own mode (a bf16 input to a quantized linear, NVFP4 values to an
// FP8 one).
TEST(QuantizedLinearGpu, AModeMismatchIsCaught) {
  FW_REQUIRE_GPU();
  auto& ctx = test::context();
  const Tensor w = cuda::to_device(test::random_tensor({64, 64}, 1).to(DType::bf16), DType::bf16);
  const cuda::Linear fp8 = cuda::Linear::create(ctx, w, Tensor(), quant::LinearMode::fp8);
  const cuda::Linear nvfp4 = cuda::Linear::create(ctx, w, Tensor(), quant::LinearMode::nvfp4);
  Tensor out = test::poisoned({4, 64}, DType::bf16);
  EXPECT_THROW(fp8.forward(ctx, {w.raw(), 64, nullptr}, 4, {out.raw(), 64}), std::exception);
  EXPECT_THROW(nvfp4.forward(ctx, {w.raw(), 64}, 4, {out.raw(), 64}), std::exception);
  EXPECT_THROW(fp8.forward(ctx, {w.raw(), 64, nullptr, quant::LinearMode::nvfp4}, 4, {out.raw(), 64}),
               std::exception);
}

}  // namespace
}  // namespace fastwan
