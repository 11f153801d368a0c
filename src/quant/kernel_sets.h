// Which GPU kernel set runs on which GPU, and which precision modes each set computes there. Pure functions
// of the compute capability, so the choice is tested without a GPU (the CUDA backend asks them at start-up).
//
//   hopper    sm_90 only (the binary carries sm_90a code): wgmma/TMA attention in every mode, cuBLASLt GEMMs
//             with FP8 per tensor and per row (per-row scales applied by our epilogue, ops/cuda/gemm_epilogue.h).
//   portable  sm_80 and newer: mma.sync attention (bf16, and FP4 attention emulated exactly as on Hopper;
//             8-bit attention with the INT8 and FP8 mma.sync of sm_89 and newer), cuBLASLt GEMMs (bf16 and
//             the emulated NVFP4 everywhere; FP8 per tensor and per row from sm_89).
#pragma once

#include <string>
#include <string_view>

#include "fastwan/status.h"
#include "quant/modes.h"

namespace fastwan::quant {

enum class KernelSet { hopper, portable };

struct ComputeCapability {
  int major = 0, minor = 0;
  int sm() const { return 10 * major + minor; }  // 90 for sm_90
};

std::string_view kernel_set_name(KernelSet set);  // "hopper", "portable"

// What auto picks: hopper on sm_90, portable elsewhere (whether the GPU runs either is resolve_kernel_set's).
KernelSet default_kernel_set(ComputeCapability cc);

// auto: hopper on sm_90, portable elsewhere. An Error naming the GPU when the choice cannot run there
// (hopper anywhere but sm_90; anything below sm_80, which this binary has no code for).
Expected<KernelSet> resolve_kernel_set(KernelChoice choice, ComputeCapability cc, std::string_view gpu);

// Whether `set` computes the DiT in options' linear and attention modes on a GPU of capability `cc`, and
// if not, why (one line naming the mode and what it needs).
Status kernel_set_supports(KernelSet set, ComputeCapability cc, const ModelOptions& options);

}  // namespace fastwan::quant
