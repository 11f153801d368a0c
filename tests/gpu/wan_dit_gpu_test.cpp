// The GPU DiT against the CPU reference: the golden case, and a real-width DiT (1536 wide, 12 heads,
// 2 layers, random weights) at a 3 x 30 x 52 token grid with 512 text rows.
#include "gpu/gpu_test_util.h"
#include "models/wan_dit/cuda/wan_dit_cuda.h"
#include "models/wan_dit/parameters.h"
#include "models/wan_dit/transformer.h"
#include "verify/cuda/cuda_verifiers.h"

namespace fastwan {
namespace {

TEST(WanDitGpu, GoldenCaseWithinBf16Bound) {
  FW_REQUIRE_GPU();
  ASSERT_OK_AND_ASSIGN(auto gc, GoldenCase::load(test::golden_case("wan_dit_tiny")));
  ASSERT_OK_AND_ASSIGN(VerifyReport report, verify_wan_dit_cuda(gc, {}));
  std::printf("%s", report.table().c_str());
  EXPECT_TRUE(report.passed()) << report.first_failure();
}

TEST(WanDitGpu, RealWidthTwoLayersMatchCpuReference) {
  FW_REQUIRE_GPU();
  WanDitConfig config = WanDitConfig::wan21_1_3b();
  config.num_layers = 2;
  test::TempDir dir;
  ASSERT_OK(write_random_safetensors(dir.file("w.safetensors"), wan_dit_parameters(config), DType::bf16, 5));
  ASSERT_OK_AND_ASSIGN(auto store, WeightStore::open(dir.file("w.safetensors")));
  ASSERT_OK_AND_ASSIGN(auto cpu_model, WanTransformer3DModel::load(config, store));
  const Tensor latents = test::random_tensor({1, 16, 3, 60, 104}, 6);
  const Tensor context = test::random_tensor({1, 512, 4096}, 7);
  const float t = 757.0f;
  ASSERT_OK_AND_ASSIGN(Tensor ref, cpu_model.forward(latents, t, context));

  auto ctx = cuda::DeviceContext::create();
  ASSERT_OK_AND_ASSIGN(auto weights, cuda::upload_dit_weights(*ctx, config, store));
  cuda::WanDitCuda dit(std::move(ctx), config, std::move(weights));
  ASSERT_OK(dit.prepare(3, 60, 104, 512));
  ASSERT_OK(dit.set_context(context.reshape({512, 4096})));
  FW_CUDA_CHECK(cudaMemcpy(dit.latents().raw(), latents.raw(), latents.nbytes(), cudaMemcpyHostToDevice));
  cuda::poison(dit.velocity());
  dit.forward(t);
  const double err = test::rel_l2(dit.velocity(), ref);
  std::printf("real-width DiT (2 layers, 4680 tokens): rel L2 vs CPU %.3e\n", err);
  EXPECT_LT(err, 2e-2);

  // Graph replay: a different timestep, then the same one again, gives the eager result bit for bit.
  const Tensor eager = cuda::to_host(dit.velocity());
  dit.forward(100.0f);
  const Tensor other = cuda::to_host(dit.velocity());
  cuda::poison(dit.velocity());
  dit.forward(t);
  const Tensor replay = cuda::to_host(dit.velocity());
  EXPECT_EQ(std::memcmp(eager.raw(), replay.raw(), eager.nbytes()), 0);
  EXPECT_GT(ops::compare(other, eager).max_abs, 0.0) << "the timestep must reach the replayed graph";
}

}  // namespace
}  // namespace fastwan
