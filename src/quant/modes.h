// The precision modes a model runs in, chosen per run (--linear, --attention) with a default per checkpoint
// family (DESIGN §3). They travel from the command line to the model loaders as one ModelOptions value.
//
//   linear    bf16     bf16 weights and activations (the checkpoint as stored, cast to bf16)
//             fp8      FP8 e4m3, per-tensor weight scale, dynamic per-tensor activation scale: how
//                      FastWan-QAD-FP8 was released (reference fastwan_qad_inference.md §3.2)
//             fp8-row  FP8 e4m3, per-output-channel weight scales, dynamic per-token activation scales (more
//                      accurate, not what any checkpoint was trained with)
//             nvfp4    NVFP4 (E2M1 codes, an E4M3 scale per 16 inputs; quant/nvfp4.h): weights with their
//                      per-tensor global scale, activations with the static global scale 1.0, as
//                      FastWan-QAD-1.3B and -1.3B-SA2 were released (fastwan_qad_inference.md §3.3). The GPU
//                      emulates it on bf16 tensor cores (Hopper has no FP4 ones): every NVFP4 value is a bf16
//                      value, so a bf16 GEMM of the fake-quantized operands computes what FP4 hardware does,
//                      up to the order of the fp32 additions (models/common/cuda/linear.h)
//   attention bf16     bf16 operands, fp32 softmax and accumulation
//             sage8    SageAttention2's 8-bit self-attention (INT8 Q.K with K smoothing, FP8 P.V;
//                      quant/sage.h on the CPU, ops/cuda/attention.h on the GPU): how FastWan-QAD-FP8 and
//                      -1.3B-SA2 were trained. Cross-attention stays bf16, as in the reference
//             fp4      Attn-QAT's FP4 attention as the sm_120 inference kernel computes it (NVFP4 Q, K, V and
//                      single-level P; quant/fp4_attention.h): how FastWan-QAD-1.3B was trained. The GPU
//                      emulates it exactly on bf16 tensor cores (ops/cuda/attention.h)
//   kernels   auto     the Hopper set on sm_90, the portable set elsewhere (quant/kernel_sets.h)
//             hopper   wgmma/TMA kernels (sm_90a only): the fast path
//             portable mma.sync kernels and cuBLASLt, for every GPU from sm_80 on (and the H100, to test
//             them)
#pragma once

#include <string>
#include <string_view>

#include "fastwan/status.h"

namespace fastwan::quant {

enum class LinearMode { bf16, fp8, fp8_row, nvfp4 };
enum class AttentionMode { bf16, sage8, fp4 };
enum class KernelChoice { automatic, hopper, portable };

Expected<LinearMode> parse_linear_mode(
    std::string_view name);  // errors name --linear and the accepted values
Expected<AttentionMode> parse_attention_mode(std::string_view name);
std::string_view linear_mode_name(LinearMode mode);  // "bf16", "fp8", "fp8-row", "nvfp4"
std::string_view attention_mode_name(AttentionMode mode);
std::string_view linear_mode_values();                              // "bf16, fp8, fp8-row or nvfp4"
std::string_view attention_mode_values();                           // "bf16, sage8 or fp4"
Expected<KernelChoice> parse_kernel_choice(std::string_view name);  // "auto", "hopper", "portable"
std::string_view kernel_choice_name(KernelChoice choice);

// How a DiT runs: the quantized linears (the ten of every block), the self-attention, and on a GPU the kernel
// set that computes them.
struct ModelOptions {
  LinearMode linear = LinearMode::bf16;
  AttentionMode attention = AttentionMode::bf16;
  KernelChoice kernels = KernelChoice::automatic;

  std::string describe() const;  // "linear fp8, attention bf16" (", kernels portable" when not auto)
  bool operator==(const ModelOptions&) const = default;
};

}  // namespace fastwan::quant
