// The GPU Wan VAE decoder against the CPU reference: the golden case, and the real Wan2.1 VAE geometry
// (random weights) on two latent frames at 480 x 832 (5 frames).
#include <vector>

#include "gpu/gpu_test_util.h"
#include "models/wan_vae/cuda/wan_vae_cuda.h"
#include "ops/ops.h"
#include "synth/synth.h"
#include "verify/cuda/cuda_verifiers.h"

namespace fastwan {
namespace {

TEST(WanVaeGpu, GoldenCase) {
  FW_REQUIRE_GPU();
  ASSERT_OK_AND_ASSIGN(auto gc, GoldenCase::load(test::golden_case("wan_vae_tiny")));
  ASSERT_OK_AND_ASSIGN(VerifyReport report, verify_wan_vae_cuda(gc, {}));
  std::printf("%s", report.table().c_str());
  EXPECT_TRUE(report.passed()) << report.first_failure();
}

TEST(WanVaeGpu, RealGeometryAtFrameSizeMatchesCpu) {
  FW_REQUIRE_GPU();
  test::TempDir dir;
  ASSERT_OK(synthesize_vae(dir.path().string(), SynthPreset::wan21_1_3b, 4));
  ASSERT_OK_AND_ASSIGN(WanVaeDecoder cpu, WanVaeDecoder::load(dir.file("vae")));
  ASSERT_OK_AND_ASSIGN(auto gpu, cuda::WanVaeDecoderCuda::create(cpu, test::new_context()));
  const Tensor latents = test::random_tensor({1, 16, 2, 60, 104}, 5);
  const Tensor ref = test::decode_all(cpu, latents);
  const Tensor got = test::decode_all(*gpu, latents);
  ASSERT_EQ(got.shape(), (Shape{5, 3, 480, 832}));
  ASSERT_EQ(got.shape(), ref.shape());
  const auto d = ops::compare(got, ref);
  std::printf("Wan VAE 480x832, 2 latents: max abs %.3e, rel L2 %.3e\n", d.max_abs, d.rel_l2);
  EXPECT_FALSE(d.has_nan);
  EXPECT_LT(d.rel_l2, 2e-2);
}

}  // namespace
}  // namespace fastwan
