// Which kernel set runs where, and which modes each computes: the choice the CUDA backend makes at start-up,
// checked without a GPU on the compute capabilities of the GPUs FastWan-QAD's users own.
#include <gtest/gtest.h>

#include "quant/kernel_sets.h"

namespace fastwan::quant {
namespace {

constexpr ComputeCapability kA100{8, 0}, kRtx3090{8, 6}, kRtx4090{8, 9}, kH100{9, 0}, kB200{10, 0},
    kRtx5090{12, 0}, kT4{7, 5};

TEST(KernelSets, AutoIsHopperOnlyOnSm90) {
  EXPECT_EQ(*resolve_kernel_set(KernelChoice::automatic, kH100, "H100"), KernelSet::hopper);
  for (ComputeCapability cc : {kA100, kRtx3090, kRtx4090, kB200, kRtx5090})
    EXPECT_EQ(*resolve_kernel_set(KernelChoice::automatic, cc, "gpu"), KernelSet::portable) << cc.sm();
}

TEST(KernelSets, PortableRunsEverywhereFromAmpere) {
  for (ComputeCapability cc : {kA100, kRtx3090, kRtx4090, kH100, kB200, kRtx5090})
    EXPECT_EQ(*resolve_kernel_set(KernelChoice::portable, cc, "gpu"), KernelSet::portable) << cc.sm();
}

TEST(KernelSets, ImpossibleChoicesNameTheGpu) {
  auto hopper_on_ada = resolve_kernel_set(KernelChoice::hopper, kRtx4090, "NVIDIA GeForce RTX 4090");
  ASSERT_FALSE(hopper_on_ada);
  EXPECT_EQ(
      hopper_on_ada.error().message(),
      "--kernels hopper: the Hopper kernels need sm_90 (H100, H200); NVIDIA GeForce RTX 4090 (sm_89) runs "
      "--kernels portable");
  auto turing = resolve_kernel_set(KernelChoice::automatic, kT4, "Tesla T4");
  ASSERT_FALSE(turing);
  EXPECT_NE(turing.error().message().find("Tesla T4 (sm_75)"), std::string::npos);
  EXPECT_FALSE(resolve_kernel_set(KernelChoice::portable, kT4, "Tesla T4"));
}

TEST(KernelSets, HopperComputesEveryMode) {
  for (LinearMode l : {LinearMode::bf16, LinearMode::fp8, LinearMode::fp8_row, LinearMode::nvfp4})
    for (AttentionMode a : {AttentionMode::bf16, AttentionMode::sage8, AttentionMode::fp4})
      EXPECT_TRUE(kernel_set_supports(KernelSet::hopper, kH100, {l, a}).ok());
}

TEST(KernelSets, PortableModesFollowTheTensorCores) {
  // bf16, NVFP4 (emulated with bf16 GEMMs) and FP4 attention (emulated on bf16 mma.sync) everywhere.
  for (ComputeCapability cc : {kA100, kRtx3090, kRtx4090, kH100, kRtx5090}) {
    EXPECT_TRUE(kernel_set_supports(KernelSet::portable, cc, {LinearMode::nvfp4, AttentionMode::fp4}).ok());
    EXPECT_TRUE(kernel_set_supports(KernelSet::portable, cc, {LinearMode::bf16, AttentionMode::bf16}).ok());
  }
  // FP8 linears per tensor and 8-bit attention need FP8 tensor cores (Ada and newer).
  const ModelOptions fp8_sage{LinearMode::fp8, AttentionMode::sage8};
  EXPECT_TRUE(kernel_set_supports(KernelSet::portable, kRtx4090, fp8_sage).ok());
  EXPECT_TRUE(kernel_set_supports(KernelSet::portable, kRtx5090, fp8_sage).ok());
  const Status a100 = kernel_set_supports(KernelSet::portable, kA100, fp8_sage);
  ASSERT_FALSE(a100.ok());
  EXPECT_EQ(a100.error().message(), "--linear fp8 needs FP8 tensor cores (sm_89 or newer), not on sm_80");
  const Status sage_a100 =
      kernel_set_supports(KernelSet::portable, kA100, {LinearMode::bf16, AttentionMode::sage8});
  ASSERT_FALSE(sage_a100.ok());
  EXPECT_EQ(sage_a100.error().message(),
            "--attention sage8 needs FP8 tensor cores (sm_89 or newer), not on sm_80");
  // Per-row FP8 scales are applied by our epilogue to an FP8 GEMM with unit scales: wherever FP8 GEMMs run.
  for (ComputeCapability cc : {kRtx4090, kH100, kB200, kRtx5090})
    EXPECT_TRUE(kernel_set_supports(KernelSet::portable, cc, {LinearMode::fp8_row, AttentionMode::bf16}).ok())
        << cc.sm();
  const Status row_a100 =
      kernel_set_supports(KernelSet::portable, kA100, {LinearMode::fp8_row, AttentionMode::bf16});
  ASSERT_FALSE(row_a100.ok());
  EXPECT_EQ(row_a100.error().message(),
            "--linear fp8-row needs FP8 tensor cores (sm_89 or newer), not on sm_80");
}

TEST(KernelSets, ParseAndDescribe) {
  EXPECT_EQ(*parse_kernel_choice("auto"), KernelChoice::automatic);
  EXPECT_EQ(*parse_kernel_choice("portable"), KernelChoice::portable);
  auto bad = parse_kernel_choice("ampere");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "--kernels ampere: unknown kernel set (expected auto, hopper or portable)");
  EXPECT_EQ((ModelOptions{LinearMode::fp8, AttentionMode::sage8}).describe(), "linear fp8, attention sage8");
  EXPECT_EQ((ModelOptions{LinearMode::fp8, AttentionMode::sage8, KernelChoice::portable}).describe(),
            "linear fp8, attention sage8, kernels portable");
}

}  // namespace
}  // namespace fastwan::quant
