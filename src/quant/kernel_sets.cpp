#include "quant/kernel_sets.h"

namespace fastwan::quant {
namespace {

std::string sm_name(ComputeCapability cc) {
  return "sm_" + std::to_string(cc.major) + std::to_string(cc.minor);
}

}  // namespace

std::string_view kernel_set_name(KernelSet set) {
  return set == KernelSet::hopper ? "hopper" : "portable";
}

KernelSet default_kernel_set(ComputeCapability cc) {
  return cc.major == 9 ? KernelSet::hopper : KernelSet::portable;
}

Expected<KernelSet> resolve_kernel_set(KernelChoice choice, ComputeCapability cc, std::string_view gpu) {
  const std::string where = std::string(gpu) + " (" + sm_name(cc) + ")";
  if (cc.sm() < 80)
    return Error("the CUDA kernels need compute capability 8.0 or newer (Ampere); " + where + " is older");
  switch (choice) {
    case KernelChoice::automatic:
      return default_kernel_set(cc);
    case KernelChoice::hopper:
      if (cc.major != 9)
        return Error("--kernels hopper: the Hopper kernels need sm_90 (H100, H200); " + where +
                     " runs --kernels portable");
      return KernelSet::hopper;
    case KernelChoice::portable:
      return KernelSet::portable;
  }
  return Error("unknown kernel set");
}

Status kernel_set_supports(KernelSet set, ComputeCapability cc, const ModelOptions& options) {
  if (set == KernelSet::hopper) return Status::Ok();
  const std::string on = " on " + sm_name(cc);
  switch (options.linear) {
    case LinearMode::bf16:
    case LinearMode::nvfp4:  // emulated with bf16 GEMMs everywhere
      break;
    case LinearMode::fp8:
    case LinearMode::fp8_row:  // per-row scales: our epilogue on an FP8 GEMM (ops/cuda/gemm_epilogue.h)
      if (cc.sm() < 89)
        return Error("--linear " + std::string(linear_mode_name(options.linear)) +
                     " needs FP8 tensor cores (sm_89 or newer), not" + on);
      break;
  }
  if (options.attention == AttentionMode::sage8 && cc.sm() < 89)
    return Error("--attention sage8 needs FP8 tensor cores (sm_89 or newer), not" + on);
  return Status::Ok();
}

}  // namespace fastwan::quant
