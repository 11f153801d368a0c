// The quantizing pre-processing of --attention sage8: SageAttention2's operands for the 8-bit attention
// kernel (attention.h), computed as quant/sage.h (the CPU oracle) computes them.
//   Q  qk_norm_rope with int8_scale (norm.h): INT8 codes per group of rows {r, r + 8} of a 16-row slice,
//      scale = amax / 127 + 1e-7, code = trunc(x / scale + sign(x) / 2), in the norm kernel's own pass.
//   K  qk_norm_rope with channel_partials writes bf16 K and the per-slice channel sums; sage_quantize_k
//      reduces them to the token mean (fixed order: deterministic), subtracts it and writes INT8 codes per
//      group of the 32 keys with equal (n % 8) / 2 in each 128-key block.
//   V  sage_quantize_v: the per-channel amax over all tokens, then the transpose to [heads][128][vt_stride]
//      as e4m3 codes of v / (amax / 448), keys permuted within each group of 16 so that storage position p
//      holds key {0,1,8,9,2,3,10,11,4,5,12,13,6,7,14,15}[p] (what the P.V wgmma's A fragment needs), the
//      padding of the last group zero.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace fastwan::cuda {

// Per head: the Q group scales, the K group scales; the V^T row stride in bytes; the K partial-sum rows.
inline int64_t sage_q_scale_count(int64_t rows) {
  return (rows + 63) / 64 * 32;
}
inline int64_t sage_k_scale_count(int64_t rows) {
  return (rows + 127) / 128 * 4;
}
inline int64_t sage_vt_stride(int64_t rows) {
  return (rows + 15) / 16 * 16;
}
inline int64_t sage_k_partial_rows(int64_t rows) {
  return (rows + 15) / 16;
}

struct SageQuantizeKParams {
  int64_t rows = 0;
  int heads = 0;
  const void* k = nullptr;          // bf16 [heads][rows][128] (qk_norm_rope's output)
  const float* partials = nullptr;  // [sage_k_partial_rows(rows)][heads * 128] (qk_norm_rope's sums)
  float* mean = nullptr;            // workspace [heads * 128]: the token mean of every channel
  void* codes = nullptr;            // int8 [heads][rows][128]
  float* scale = nullptr;           // [heads][sage_k_scale_count(rows)]
};
void sage_quantize_k(const SageQuantizeKParams& p, cudaStream_t stream);

struct SageQuantizeVParams {
  int64_t rows = 0;
  int heads = 0;
  const void* src = nullptr;  // bf16 V [rows][heads * 128], row stride src_stride (elements)
  int64_t src_stride = 0;
  float* amax = nullptr;  // workspace [heads * 128]
  void* vt = nullptr;     // e4m3 [heads][128][vt_stride], vt_stride >= sage_vt_stride(rows), % 16 == 0
  int64_t vt_stride = 0;
  float* scale = nullptr;  // [heads][128]: amax / 448
};
void sage_quantize_v(const SageQuantizeVParams& p, cudaStream_t stream);

}  // namespace fastwan::cuda
