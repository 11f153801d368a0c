// Row-wise norm kernels of the Wan DiT block, fused with modulation and residual updates. bf16 activations,
// fp32 statistics and modulation math, rounding where FastVideo rounds (reference §1.4 (d)):
//   modulated_layer_norm   n = bf16(LN(x) * (1 + scale) + shift)                      (norm1, before attn1)
//   gated_residual_norm    r = x + a * gate (fp32); n = bf16(LN_affine(r)); x = bf16(r) (after attn1, norm2)
//   residual_norm_modulate r = bf16(x + c); n = bf16(bf16(LN(r)) * (1 + scale) + shift); x = r   (norm3)
//   gated_residual         x = bf16(x + f * gate)                                       (after the FFN)
//   head_norm_modulate     n = bf16(float(bf16(LN(x))) * float(bf16(1 + scale)) + shift) with bf16
//   scale/shift
// Rows are independent; one warp per row; D % 8 == 0.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace fastwan::cuda {

struct RowNormParams {
  int64_t rows = 0;
  int dim = 0;
  float eps = 1e-6f;
  void* x = nullptr;             // bf16 [rows, dim]: input, and the updated residual where the op writes one
  const void* y = nullptr;       // bf16 [rows, dim]: the branch output added to x (a, c or f above)
  void* out = nullptr;           // bf16 [rows, dim]: the normalized, modulated result
  const float* scale = nullptr;  // fp32 [dim] (head_norm_modulate: bf16)
  const float* shift = nullptr;  // fp32 [dim] (head_norm_modulate: bf16)
  const float* gate = nullptr;   // fp32 [dim]
  const void* weight = nullptr;  // bf16 [dim] affine LN weight
  const void* bias = nullptr;    // bf16 [dim] affine LN bias
  float* amax = nullptr;  // when set: max |out| (as stored, bf16) folded in, for FP8 per-tensor scaling
};

void modulated_layer_norm(const RowNormParams& p, cudaStream_t stream);
void gated_residual_norm(const RowNormParams& p, cudaStream_t stream);
void residual_norm_modulate(const RowNormParams& p, cudaStream_t stream);
void gated_residual(const RowNormParams& p, cudaStream_t stream);
void head_norm_modulate(const RowNormParams& p, cudaStream_t stream);

// T5 RMSNorm: out = bf16(bf16(x * rsqrt(mean(x^2) + eps)) * weight) on fp32 or bf16 input (x_is_f32).
void t5_rms_norm(const RowNormParams& p, bool x_is_f32, cudaStream_t stream);

// q/k RMSNorm across all heads (dim = heads * 128) fused with the 3D RoPE and the head-major relayout of
// the attention kernel (attention.h), reference §1.4 (a) and (d):
//   q = bf16(bf16(x * rsqrt(mean(x^2) + eps)) * w), then RoPE in fp32 on interleaved pairs -> bf16.
// src rows have stride src_stride (elements); dst is [heads][rows][128]. cos/sin: fp32 [rows][64], or null
// for no RoPE (cross-attention). For --attention sage8 (sage_quant.h) the kernel also quantizes, in the same
// pass: with int8_scale set, dst receives SageAttention2's INT8 Q codes instead of bf16 (the bf16 values
// quantized per group of rows {r, r + 8} of each 16-row slice and head); with channel_partials set, it sums
// every output channel over each 16-row slice (the smoothing mean of K, without another pass over K). For
// --attention fp4, fp4 = true writes φ of the bf16 values per 16 channels instead (Attn-QAT's NVFP4 Q and K,
// emulated: the values code * scale, exact in bf16; ops/cuda/fp4_attention.cuh).
struct QkNormRopeParams {
  int64_t rows = 0;
  int heads = 0;
  float eps = 1e-6f;
  const void* src = nullptr;
  int64_t src_stride = 0;
  const void* weight = nullptr;  // bf16 [heads * 128]
  const float* cos = nullptr;
  const float* sin = nullptr;
  void* dst = nullptr;
  float* int8_scale = nullptr;  // [heads][sage_q_scale_count(rows)]: the Q group scales
  // [ceil(rows / 16)][heads * 128]: per-slice channel sums of the bf16 dst
  float* channel_partials = nullptr;
  bool fp4 = false;  // dst: φ per 16 channels (bf16 values)
};
void qk_norm_rope(const QkNormRopeParams& p, cudaStream_t stream);

// V [rows][heads * 128] (row stride src_stride) -> V^T [heads][128][dst_stride] for the P.V product; with
// fp4, φ of every 16 tokens of a channel (the reduction dimension of P.V; the last block's missing tokens
// count as 0).
struct TransposeHeadsParams {
  int64_t rows = 0;
  int heads = 0;
  const void* src = nullptr;
  int64_t src_stride = 0;
  void* dst = nullptr;
  int64_t dst_stride = 0;
  bool fp4 = false;
};
void transpose_heads(const TransposeHeadsParams& p, cudaStream_t stream);

}  // namespace fastwan::cuda
