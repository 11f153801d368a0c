// Softmax attention for head_dim 128, non-causal, no mask, bf16 in/out, fp32 softmax and accumulation:
// an sm_90a kernel in the FlashAttention-3 structure (TMA loads, wgmma, one producer warpgroup and two
// consumer warpgroups, online softmax). Used for self-attention (seq_kv = seq_q = 32,760 at 480p) and for
// cross-attention over the 512 text rows.
//
// Operand layouts (written by the qk-norm/RoPE kernels, see norm.h):
//   q:   [heads][seq_q][128]
//   k:   [heads][seq_kv][128]
//   vt:  [heads][128][vt_stride]   V transposed, so that P.V reads it K-major; vt_stride >= seq_kv, % 8 == 0
//   out: [seq_q][out_stride]       head h in columns [128 h, 128 h + 128): the input layout of to_out
#pragma once

#include <cuda_runtime.h>

#include "cuda/context.h"

namespace fastwan::cuda {

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
};

constexpr int kAttentionHeadDim = 128;

void flash_attention(DeviceContext& ctx, const AttentionParams& p);

// 4 * heads * seq_q * seq_kv * 128: the FLOPs of one call, for throughput reports.
double attention_flops(const AttentionParams& p);

}  // namespace fastwan::cuda
