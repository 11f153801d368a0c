// Attn-QAT's FP4 attention as its sm_120 inference kernel computes it (reference attn_qat.md §4.1,
// py/attn_qat_ref.py infer_emul): the CPU oracle of --attention fp4. With φ the NVFP4 quantizer of
// quant/nvfp4.h and c = sm_scale * log2(e):
//   Q, K  φ per 16 head-dim channels of one token; V  φ per 16 tokens of one channel (the reduction dimension
//         of P . V); all three with Fp4Rounding::reciprocal_of_rounded
//   S = Q^ . K^ (fp32); per 128-key tile, visited last to first (FA3 style):
//     m' = max(m, rowmax(S));  P = exp2(S c - m' c) in [0, 1] (single-level: relative to the running max)
//     P^ = φ(P) per 16 keys with Fp4Rounding::unrounded_scale (codes from the fp32 scale, dequantized with
//          its E4M3 rounding); a block below 6 * 2^-10 of the running max is 0
//     l = l exp2((m - m') c) + sum(P) (fp32, the unquantized P);  acc = acc exp2((m - m') c) + P^ . V^
//   O = acc / l
// The kernel pads the keys to a multiple of 128 (V with zeros, S with -inf); here the last, partial 16-block
// of keys or tokens is quantized on its own, which gives the same values. Not reproduced bit for bit: the
// kernel's ex2.approx.ftz (std::exp2 here), its fp32 summation order, and its bf16 output (f32 here, as the
// other CPU attention oracles).
#pragma once

#include "core/tensor.h"

namespace fastwan::quant {

inline constexpr int64_t kFp4BlockK = 128;

// q: [Sq, heads, D], k and v: [Sk, heads, D] with D a multiple of 16 (any values: they are quantized here).
// Returns [Sq, heads, D], f32.
Tensor fp4_attention(const Tensor& q, const Tensor& k, const Tensor& v, float sm_scale);

}  // namespace fastwan::quant
