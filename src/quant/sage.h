// SageAttention2's 8-bit attention as its sm90 kernel computes it (reference sage_attention_sm90.md §1 and
// §7.1, py/sage_ref.py): the CPU oracle of --attention sage8.
//   K' = K - mean over all tokens (per head and channel)
//   Q and K' to INT8 in per-thread groups that match the wgmma fragment ownership:
//     Q: rows {r, r + 8} of each 16-row slice of a 64-row block; K': tokens {8 i + 2 t, 8 i + 2 t + 1 : i <
//     16} of each 128-token block (t = 0..3); scale = amax / 127 + 1e-7, code = trunc(x / scale + sign(x) /
//     2)
//   V to FP8 e4m3 per channel over all tokens: scale = amax / 448
//   per 128-key block, with c = sm_scale * log2(e):
//     S = (Q_i8 . K_i8) * qs * ks * c;  m' = max(m, rowmax(S) - 8.807);  P = exp2(S - m') in (0, 448]
//     l = l * exp2(m - m') + sum(P) (fp32, unquantized P);  acc = acc * exp2(m - m') + e4m3(P) . V_fp8
//   O = acc / l * v_scale
#pragma once

#include "core/tensor.h"
#include "quant/sage_math.h"  // sage_int8_code, sage_int8_scale

namespace fastwan::quant {

inline constexpr float kSageP8Offset = 8.807f;  // exp2(8.807) ~= 448: P fills the e4m3 range
inline constexpr int kSageBlockQ = 64, kSageBlockK = 128;

// q: [Sq, heads, D], k and v: [Sk, heads, D], f32 (any values: they are quantized here). Returns [Sq, heads,
// D].
Tensor sage8_attention(const Tensor& q, const Tensor& k, const Tensor& v, float sm_scale);

// The pieces, for tests and for the GPU pre-processing's oracle. x: [S, D] of one head.
struct Int8Groups {
  std::vector<int8_t> codes;  // [S, D]
  std::vector<float> scales;  // one per row (each row's group scale repeated)
};
Int8Groups sage_quantize_q(const float* x, int64_t rows, int64_t dim);  // the Q grouping
Int8Groups sage_quantize_k(const float* x, int64_t rows, int64_t dim);  // the K grouping (x already smoothed)

}  // namespace fastwan::quant
