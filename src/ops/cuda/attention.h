// Softmax attention for head_dim 128, non-causal, no mask: one kernel family (ops/cuda/attention/) in two
// kernel sets, picked by the context (DeviceContext::kernels): the Hopper set for sm_90a in the
// FlashAttention-3 structure (TMA loads into a ring of K/V stages, wgmma, one producer warpgroup and two
// consumer warpgroups, online softmax) and the portable set for sm_80 and later (FlashAttention-2 on
// mma.sync, portable.cu), both computing the same per-thread math, instantiated per operand type:
//   bf16   bf16 Q, K, V; fp32 softmax and accumulation. Self-attention in --attention bf16 and every
//          cross-attention over the 512 text rows.
//   sage8  SageAttention2's sm90 numerics (quant/sage.h is the CPU oracle): INT8 Q and smoothed K with
//          per-thread-group scales, FP8 e4m3 V with per-channel scales, P to e4m3 with the static 2^8.807
//          range offset, row sums from the fp32 P, P.V accumulated per 128-key block and promoted to fp32.
//          The operands come from the quantizing pre-processing (ops/cuda/sage_quant.h).
//   fp4    Attn-QAT's FP4 attention (quant/fp4_attention.h is the CPU oracle), emulated exactly on bf16
//   tensor
//          cores: Q, K (per 16 channels) and V (per 16 tokens) arrive as NVFP4 values in bf16 (the q/k-norm
//          kernel and the V transpose quantize them, norm.h); the key blocks are visited last to first and P
//          is quantized per 16 keys relative to the running row max; row sums from the unquantized P.
//
// Operand layouts (written by the qk-norm/RoPE kernels and the V transposes, see norm.h, sage_quant.h):
//   q:   [heads][seq_q][128]                     bf16 or int8
//   k:   [heads][seq_kv][128]                    bf16 or int8 (K minus its token mean)
//   vt:  [heads][128][vt_stride]                 V transposed so that P.V reads it K-major. bf16: vt_stride
//                                                >= seq_kv, % 8 == 0. e4m3: keys permuted within each group
//                                                of 16 (sage_quant.h), vt_stride >= seq_kv rounded up to 16
//                                                and % 16 == 0, the padding zero
//   out: [seq_q][out_stride]                     bf16, head h in columns [128 h, 128 h + 128): to_out's input
#pragma once

#include <cuda_runtime.h>

#include "cuda/context.h"

namespace fastwan::cuda {

enum class AttentionOperands { bf16, sage8, fp4 };

struct AttentionParams {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* vt = nullptr;
  void* out = nullptr;
  int heads = 0;
  int seq_q = 0;
  int seq_kv = 0;
  int vt_stride = 0;
  int out_stride = 0;
  float scale = 0.0f;     // softmax scale, 1/sqrt(128) for Wan
  float* amax = nullptr;  // when set: max |out| (bf16) folded in, for FP8 per-tensor scaling of the output
  AttentionOperands operands = AttentionOperands::bf16;
  // sage8: the dequantization scales (sage_quant.h writes them).
  const float* q_scale = nullptr;  // [heads][ceil(seq_q / 64) * 32]: rows {r, r + 8} of each 16-row slice
  const float* k_scale = nullptr;  // [heads][ceil(seq_kv / 128) * 4]: keys with equal (n % 8) / 2 per block
  const float* v_scale = nullptr;  // [heads][128]: per channel
  // When set: the natural log of each row's softmax denominator, sum_j exp(scale * s_ij), [heads][seq_q]
  // (for the training kernels' backward pass). For sage8 the scores are those of the smoothed, quantized K.
  float* lse = nullptr;
};

constexpr int kAttentionHeadDim = 128;

void flash_attention(DeviceContext& ctx, const AttentionParams& p);

// 4 * heads * seq_q * seq_kv * 128: the FLOPs of one call, for throughput reports.
double attention_flops(const AttentionParams& p);

}  // namespace fastwan::cuda
