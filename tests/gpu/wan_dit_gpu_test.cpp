// The GPU DiT against the CPU reference: the golden case, and a real-width DiT (1536 wide, 12 heads,
// 2 layers, random weights) at a 3 x 30 x 52 token grid with 512 text rows.
#include <cstring>

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

// In every mode the GPU runs: the CPU reference runs the same modes (fake quantization, the 8-bit attention
// oracle); its error against the exact CPU model is printed beside, so the cost of the mode shows. In nvfp4
// the CPU takes exact reciprocals where the GPU takes rcp.approx (quant/nvfp4.h), so a few codes at exact
// ties differ besides the bf16 activations.
class WanDitGpuModes : public ::testing::TestWithParam<quant::ModelOptions> {};

TEST_P(WanDitGpuModes, RealWidthTwoLayersMatchCpuReference) {
  FW_REQUIRE_GPU();
  const quant::ModelOptions modes = GetParam();
  const std::string name = modes.describe();
  WanDitConfig config = WanDitConfig::wan21_1_3b();
  config.num_layers = 2;
  test::TempDir dir;
  ASSERT_OK(write_random_safetensors(dir.file("w.safetensors"), wan_dit_parameters(config), DType::bf16, 5));
  ASSERT_OK_AND_ASSIGN(auto store, WeightStore::open(dir.file("w.safetensors")));
  const Tensor latents = test::random_tensor({1, 16, 3, 60, 104}, 6);
  const Tensor context = test::random_tensor({1, 512, 4096}, 7);
  const float t = 757.0f;
  ASSERT_OK_AND_ASSIGN(auto cpu_exact, WanTransformer3DModel::load(config, store));
  ASSERT_OK_AND_ASSIGN(Tensor exact, cpu_exact.forward(latents, t, context));
  ASSERT_OK_AND_ASSIGN(auto cpu_mode, WanTransformer3DModel::load(config, store, modes));
  ASSERT_OK_AND_ASSIGN(Tensor ref, cpu_mode.forward(latents, t, context));

  auto ctx = test::new_context();
  ASSERT_OK_AND_ASSIGN(auto weights, cuda::upload_dit_weights(*ctx, config, store, modes.linear));
  cuda::WanDitCuda dit(std::move(ctx), config, std::move(weights), modes.attention);
  ASSERT_OK(dit.prepare(3, 60, 104, 512));
  ASSERT_OK(dit.set_context(context.reshape({512, 4096})));
  FW_CUDA_CHECK(cudaMemcpy(dit.latents().raw(), latents.raw(), latents.nbytes(), cudaMemcpyHostToDevice));
  cuda::poison(dit.velocity());
  dit.forward(t);
  const double err = test::rel_l2(dit.velocity(), ref);
  std::printf(
      "real-width DiT (2 layers, 4680 tokens) %s: rel L2 vs CPU same modes %.3e, vs CPU fp32 "
      "%.3e (CPU same modes vs fp32: %.3e)\n",
      name.c_str(), err, test::rel_l2(dit.velocity(), exact), ops::compare(ref, exact).rel_l2);
  // The quantized attentions get issue 13's 3e-2. NVFP4 linears (steps ~25% of a value) flip codes wherever
  // the GPU's bf16 activations and the CPU's float32 ones round to different sides: the two drift apart by
  // about half the mode's own error (H100, 2026-12-07: 3.8e-2 apart, each 7.4e-2 from float32). There the GPU
  // must be as close to float32 as the oracle is, and within 5e-2 of it.
  const double gpu_vs_exact = test::rel_l2(dit.velocity(), exact),
               cpu_vs_exact = ops::compare(ref, exact).rel_l2;
  if (modes.linear == quant::LinearMode::nvfp4) {
    EXPECT_LT(gpu_vs_exact, 1.05 * cpu_vs_exact);
    EXPECT_LT(err, 5e-2);
  } else {
    EXPECT_LT(err, modes.attention != quant::AttentionMode::bf16 ? 3e-2 : 2e-2);
  }

  // Graph replay: a different timestep, then the same one again, gives the eager result bit for bit (in FP8
  // modes the amax slots are reset inside the graph; NVFP4 keeps no state between calls).
  const Tensor eager = cuda::to_host(dit.velocity());
  dit.forward(100.0f);
  const Tensor other = cuda::to_host(dit.velocity());
  cuda::poison(dit.velocity());
  dit.forward(t);
  const Tensor replay = cuda::to_host(dit.velocity());
  EXPECT_EQ(std::memcmp(eager.raw(), replay.raw(), eager.nbytes()), 0);
  EXPECT_GT(ops::compare(other, eager).max_abs, 0.0) << "the timestep must reach the replayed graph";
}

INSTANTIATE_TEST_SUITE_P(
    Modes, WanDitGpuModes,
    ::testing::Values(quant::ModelOptions{quant::LinearMode::bf16, quant::AttentionMode::bf16},
                      quant::ModelOptions{quant::LinearMode::fp8, quant::AttentionMode::bf16},
                      quant::ModelOptions{quant::LinearMode::fp8_row, quant::AttentionMode::bf16},
                      quant::ModelOptions{quant::LinearMode::bf16, quant::AttentionMode::sage8},
                      quant::ModelOptions{quant::LinearMode::fp8, quant::AttentionMode::sage8},
                      quant::ModelOptions{quant::LinearMode::nvfp4, quant::AttentionMode::bf16},
                      quant::ModelOptions{quant::LinearMode::nvfp4, quant::AttentionMode::sage8},
                      quant::ModelOptions{quant::LinearMode::bf16, quant::AttentionMode::fp4},
                      quant::ModelOptions{quant::LinearMode::nvfp4, quant::AttentionMode::fp4}),
    [](const auto& p) {
      std::string name = std::string(quant::linear_mode_name(p.param.linear)) + "_" +
                         std::string(quant::attention_mode_name(p.param.attention));
      for (char& ch : name)
        if (ch == '-') ch = '_';
      return name;
    });

}  // namespace
}  // namespace fastwan
