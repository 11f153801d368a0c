// The precision modes a model runs in, chosen per run (--linear, --attention) with a default per checkpoint
// family (DESIGN §3). They travel from the command line to the model loaders as one ModelOptions value.
//
//   linear    bf16     bf16 weights and activations (the checkpoint as stored, cast to bf16)
//             fp8      FP8 e4m3, per-tensor weight scale, dynamic per-tensor activation scale: how
//                      FastWan-QAD-FP8 was released (reference fastwan_qad_inference.md §3.2)
//             fp8-row  FP8 e4m3, per-output-channel weight scales, dynamic per-token activation scales (more
//                      accurate, not what any checkpoint was trained with)
//   attention bf16     bf16 operands, fp32 softmax and accumulation
//             sage8    SageAttention2's 8-bit self-attention (INT8 Q.K with K smoothing, FP8 P.V;
//             quant/sage.h):
//                      how FastWan-QAD-FP8 and -1.3B-SA2 were trained. The CPU runs it; the GPU kernel is not
//                      built yet, so a GPU run refuses it naming the mode and the GPU
#pragma once

#include <string>
#include <string_view>

#include "fastwan/status.h"

namespace fastwan::quant {

enum class LinearMode { bf16, fp8, fp8_row };
enum class AttentionMode { bf16, sage8 };

Expected<LinearMode> parse_linear_mode(
    std::string_view name);  // errors name --linear and the accepted values
Expected<AttentionMode> parse_attention_mode(std::string_view name);
std::string_view linear_mode_name(LinearMode mode);  // "bf16", "fp8", "fp8-row"
std::string_view attention_mode_name(AttentionMode mode);
std::string_view linear_mode_values();     // "bf16, fp8 or fp8-row"
std::string_view attention_mode_values();  // "bf16 or sage8"

// How a DiT runs: the quantized linears (the ten of every block) and the self-attention.
struct ModelOptions {
  LinearMode linear = LinearMode::bf16;
  AttentionMode attention = AttentionMode::bf16;

  std::string describe() const;  // "linear fp8, attention bf16"
  bool operator==(const ModelOptions&) const = default;
};

}  // namespace fastwan::quant
