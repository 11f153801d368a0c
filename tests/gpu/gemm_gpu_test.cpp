// cuBLASLt GEMMs (bias, GELU(tanh)+bias epilogues, batched, f32 output) against ops::linear.
#include "gpu/gpu_test_util.h"
#include "ops/cuda/gemm.h"

namespace fastwan {
namespace {

using test::bf16_round;
using test::random_tensor;

struct Case {
  int m, n, k;
  cuda::Epilogue epilogue;
};

class GemmGpu : public ::testing::TestWithParam<Case> {};

TEST_P(GemmGpu, MatchesLinear) {
  FW_REQUIRE_GPU();
  const Case c = GetParam();
  const Tensor x = bf16_round(random_tensor({c.m, c.k}, 1));
  const Tensor w = bf16_round(random_tensor({c.n, c.k}, 2, 1.0f / std::sqrt(static_cast<float>(c.k))));
  const Tensor b = bf16_round(random_tensor({c.n}, 3));
  Tensor dx = cuda::to_device(x, DType::bf16), dw = cuda::to_device(w, DType::bf16),
         db = cuda::to_device(b, DType::bf16);
  Tensor out = test::poisoned({c.m, c.n}, DType::bf16);
  cuda::GemmParams p;
  p.a = dx.raw();
  p.lda = c.k;
  p.b = dw.raw();
  p.ldb = c.k;
  p.d = out.raw();
  p.ldd = c.n;
  p.m = c.m;
  p.n = c.n;
  p.k = c.k;
  p.epilogue = c.epilogue;
  if (c.epilogue != cuda::Epilogue::none) p.bias = db.raw();
  cuda::gemm(test::context(), p);
  Tensor ref = ops::linear(x, w, c.epilogue == cuda::Epilogue::none ? Tensor() : b);
  if (c.epilogue == cuda::Epilogue::gelu_bias) ops::gelu_tanh_(ref);
  const double err = test::rel_l2(out, ref);
  std::printf("gemm %dx%dx%d epilogue %d: rel L2 %.3e\n", c.m, c.n, c.k, static_cast<int>(c.epilogue), err);
  EXPECT_LT(err, 1e-2);
}

INSTANTIATE_TEST_SUITE_P(WanShapes, GemmGpu,
                         ::testing::Values(Case{1, 1536, 256, cuda::Epilogue::bias},
                                           Case{777, 4608, 1536, cuda::Epilogue::bias},
                                           Case{512, 1536, 4096, cuda::Epilogue::gelu_bias},
                                           Case{300, 8960, 1536, cuda::Epilogue::gelu_bias},
                                           Case{300, 1536, 8960, cuda::Epilogue::bias},
                                           Case{33, 64, 1536, cuda::Epilogue::none}));

TEST(GemmGpuBatched, StridedBatchWithF32OutputAndNonTransposedB) {
  FW_REQUIRE_GPU();
  const int batch = 3, m = 40, n = 24, k = 16;
  const Tensor a = bf16_round(random_tensor({batch, m, k}, 4)),
               bm = bf16_round(random_tensor({batch, k, n}, 5));
  Tensor da = cuda::to_device(a, DType::bf16), db = cuda::to_device(bm, DType::bf16);
  Tensor out = test::poisoned({batch, m, n}, DType::f32);
  cuda::GemmParams p;
  p.a = da.raw();
  p.lda = k;
  p.stride_a = m * k;
  p.b = db.raw();
  p.ldb = n;
  p.stride_b = k * n;
  p.b_transposed = false;
  p.d = out.raw();
  p.ldd = n;
  p.stride_d = m * n;
  p.d_type = DType::f32;
  p.m = m;
  p.n = n;
  p.k = k;
  p.batch = batch;
  p.alpha = 0.5f;
  cuda::gemm(test::context(), p);
  Tensor ref = Tensor::empty({batch, m, n}, DType::f32);
  for (int i = 0; i < batch; ++i) {
    const Tensor bt = bm.select(0, i).permute({1, 0}).contiguous();
    Tensor r = ops::linear(a.select(0, i).contiguous(), bt);
    ops::scale_(r, 0.5f);
    std::copy(r.f32(), r.f32() + m * n, ref.f32() + i * m * n);
  }
  EXPECT_LT(test::rel_l2(out, ref), 1e-5);
}

}  // namespace
}  // namespace fastwan
