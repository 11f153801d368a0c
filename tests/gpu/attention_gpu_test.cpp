// The flash-attention kernels (the Hopper and the portable set) against the CPU reference (small shapes,
// every edge case of the tiling) and against a simple fp32 GPU kernel at the real 480p length (S = 32,760,
// sampled query rows).
#include "cuda/device.h"
#include "gpu/gpu_test_util.h"
#include "gpu/reference_kernels.h"
#include "ops/cuda/attention.h"

namespace fastwan {
namespace {

using test::bf16_round;
using test::random_tensor;

// Head-major device operands from token-major host tensors [S, H, 128].
struct Operands {
  Tensor q, k, vt, out;
  cuda::AttentionParams params;
};

Operands upload(const Tensor& q, const Tensor& k, const Tensor& v) {
  const int64_t sq = q.dim(0), sk = k.dim(0), h = q.dim(1);
  const int64_t vt_stride = (sk + 7) / 8 * 8;
  Operands o;
  o.q = cuda::to_device(q.permute({1, 0, 2}).contiguous(), DType::bf16);
  o.k = cuda::to_device(k.permute({1, 0, 2}).contiguous(), DType::bf16);
  Tensor vt = Tensor::zeros({h, 128, vt_stride});
  for (int64_t hh = 0; hh < h; ++hh)
    for (int64_t d = 0; d < 128; ++d)
      for (int64_t s = 0; s < sk; ++s)
        vt.f32()[(hh * 128 + d) * vt_stride + s] = v.f32()[(s * h + hh) * 128 + d];
  o.vt = cuda::to_device(vt, DType::bf16);
  o.out = test::poisoned({sq, h * 128}, DType::bf16);
  o.params = {o.q.raw(),
              o.k.raw(),
              o.vt.raw(),
              o.out.raw(),
              static_cast<int>(h),
              static_cast<int>(sq),
              static_cast<int>(sk),
              static_cast<int>(vt_stride),
              static_cast<int>(h * 128),
              0.08838834764831845f};
  return o;
}

class AttentionGpu
    : public ::testing::TestWithParam<std::tuple<std::tuple<int, int, int>, quant::KernelSet>> {};

TEST_P(AttentionGpu, MatchesCpuReference) {
  FW_REQUIRE_GPU();
  const auto [shape, set] = GetParam();
  const auto [sq, sk, h] = shape;
  FW_CONTEXT_OR_SKIP(ctx, set);
  const Tensor q = bf16_round(random_tensor({sq, h, 128}, 1, 2.0f));
  const Tensor k = bf16_round(random_tensor({sk, h, 128}, 2, 2.0f));
  const Tensor v = bf16_round(random_tensor({sk, h, 128}, 3));
  Operands o = upload(q, k, v);
  ops::AttentionOptions opt;
  opt.scale = o.params.scale;
  const Tensor ref = ops::attention(q, k, v, opt).reshape({sq, h * 128});
  Tensor lse = test::poisoned({h, sq}, DType::f32);
  o.params.lse = lse.data<float>();
  cuda::flash_attention(*ctx, o.params);
  const double err = test::rel_l2(o.out, ref);
  // The log-sum-exp output: ln sum_j exp(scale q_i . k_j) per head and row, in double on the host.
  Tensor want_lse = Tensor::empty({h, sq}, DType::f32);
  for (int hh = 0; hh < h; ++hh)
    for (int i = 0; i < sq; ++i) {
      std::vector<double> s(sk);
      double m = -1e300, sum = 0;
      for (int j = 0; j < sk; ++j) {
        double dot = 0;
        for (int c = 0; c < 128; ++c)
          dot += double(q.f32()[(i * h + hh) * 128 + c]) * k.f32()[(j * h + hh) * 128 + c];
        s[j] = dot * opt.scale;
        m = std::max(m, s[j]);
      }
      for (int j = 0; j < sk; ++j) sum += std::exp(s[j] - m);
      want_lse.f32()[hh * sq + i] = static_cast<float>(m + std::log(sum));
    }
  const auto lse_diff = ops::compare(cuda::to_host(lse), want_lse);
  std::printf("attention (%s) sq=%d sk=%d h=%d: rel L2 %.3e, lse max abs %.3e\n",
              quant::kernel_set_name(set).data(), sq, sk, h, err, lse_diff.max_abs);
  EXPECT_LT(err, 1e-2);
  EXPECT_FALSE(lse_diff.has_nan);
  EXPECT_LT(lse_diff.max_abs, 1e-2);
}

// Tile edges: exact multiples of 128, ragged query and key tails, a single key block, cross-attention to 512.
INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionGpu,
    ::testing::Combine(::testing::Values(std::tuple{128, 128, 1}, std::tuple{300, 300, 2},
                                         std::tuple{72, 24, 2}, std::tuple{1000, 512, 3},
                                         std::tuple{257, 1100, 2}, std::tuple{64, 7, 1}),
                       ::testing::Values(quant::KernelSet::hopper, quant::KernelSet::portable)));

class AttentionGpuFullLength : public ::testing::TestWithParam<quant::KernelSet> {};

TEST_P(AttentionGpuFullLength, MatchesFp32GpuReferenceAt480p) {
  FW_REQUIRE_GPU();
  FW_CONTEXT_OR_SKIP(ctx, GetParam());
  const int s = 32760, h = 12;
  cuda::install_device_allocator();
  Tensor q = test::poisoned({h, s, 128}, DType::bf16), k = test::poisoned({h, s, 128}, DType::bf16);
  Tensor vt = test::poisoned({h, 128, s}, DType::bf16), out = test::poisoned({s, h * 128}, DType::bf16);
  test::fill_random_bf16(q, 11, 2.0f);
  test::fill_random_bf16(k, 12, 2.0f);
  test::fill_random_bf16(vt, 13, 1.0f);
  cuda::AttentionParams p{q.raw(), k.raw(), vt.raw(), out.raw(), h, s, s, s, h * 128, 0.08838834764831845f};
  cuda::flash_attention(*ctx, p);
  // fp32 reference on every 97th query row (338 rows x 12 heads).
  const int stride = 97, rows = (s + stride - 1) / stride;
  Tensor ref = test::poisoned({rows, h * 128}, DType::f32);
  test::reference_attention_rows(p, stride, ref.data<float>());
  const Tensor got = cuda::to_host(out).to_f32();
  const Tensor want = cuda::to_host(ref);
  Tensor picked = Tensor::empty({rows, h * 128}, DType::f32);
  for (int r = 0; r < rows; ++r)
    std::copy(got.f32() + static_cast<int64_t>(r) * stride * h * 128,
              got.f32() + (static_cast<int64_t>(r) * stride + 1) * h * 128, picked.f32() + r * h * 128);
  const auto d = ops::compare(picked, want);
  std::printf("attention (%s) S=32760 vs fp32 GPU reference: rel L2 %.3e, max abs %.3e\n",
              quant::kernel_set_name(GetParam()).data(), d.rel_l2, d.max_abs);
  EXPECT_FALSE(d.has_nan);
  EXPECT_LT(d.rel_l2, 1e-2);
  EXPECT_FALSE(ops::compare(got, got).has_nan) << "unwritten output rows";
}

INSTANTIATE_TEST_SUITE_P(KernelSets, AttentionGpuFullLength,
                         ::testing::Values(quant::KernelSet::hopper, quant::KernelSet::portable));

}  // namespace
}  // namespace fastwan
