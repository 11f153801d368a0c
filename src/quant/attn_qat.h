// Attn-QAT's training attention, forward and backward, in double precision: the CPU reference the GPU
// training kernels are tested against (reference attn_qat.md §2, §3, §7; py/attn_qat_ref.py qat_forward_ref,
// qat_backward_ref). φ is the NVFP4 quantizer of quant/nvfp4.h (fq_nvfp4_block with
// Fp4Rounding::reciprocal_of_rounded: sf = e4m3(amax / 6), codes e2m1(x * (1 / sf)), 0 where sf == 0). With
// c = sm_scale * log2(e), in double unless said otherwise:
//
//   Q^ = φ(Q), K^ = φ(K) per 16 head-dim channels of one token; V^ = φ(V) per 16 tokens of one channel
//        (default, what the inference kernel needs) or per 16 channels of one token (the published training
//        kernel). φ runs on the f32 values of the inputs (bf16 inputs are exact in f32); its outputs are f32
//        values that bf16 represents exactly. A last, partial 16-block of tokens is quantized on its own (the
//        same values as zero padding).
//   forward, per query row, KV tiles of block_n keys visited in ascending order (the Triton kernel's 32):
//     s_j = (Q^_i . K^_j) c;  m' = max(m, max_j s_j);  a = exp2(m - m');  p_j = exp2(s_j - m') in [0, 1]
//     P^ = φ(float(p)) per 16 keys of the tile (relative to the RUNNING max: depends on block_n)
//     l = a l + sum(p) (the unquantized p);  acc = a acc + P^ . V^;  acc' = a acc' + p . V^
//   O = acc / l (what the model consumes), O' = acc' / l (exact attention of Q^, K^, V^), LSE = m + log2(l)
//   (base 2, in units of c-scaled scores: the kernel's M).
//   backward (dQ, dK, dV with respect to Q, K, V: straight-through φ on Q, K, V and on P):
//     P_ij = exp2(s_ij - LSE_i) (normalized, rows sum to 1);  D_i = rowsum(dO_i ∘ O'_i) (or O_i, a switch)
//     dV = P~^T dO with P~ = φ(float(P)) per 16 keys of the row (the published kernel: an absolute E4M3 scale
//          on the normalized P, which flushes diffuse rows to 0, attn_qat.md §1.4), or
//          φ(float(P l)) / l with P l = exp2(s - m) relative to the final row max m (the switch), or P itself
//     dS = P ∘ (dO V^T - D);  dQ = dS K^ sm_scale;  dK = dS^T Q^ sm_scale
// Masked keys (causal: key j > query i, top-left aligned as in the Triton kernel; and keys past Sk of a
// ragged last tile) have p = P = 0 in both passes and are left out of every φ block (unlike the published
// backward, which lets padded keys of a partial tile into the last block's amax; §7 recommends masking them).
// Not reproduced: the kernels' bf16 rounding of p for the O' MMA and of dS, ex2.approx, fp32 accumulation
// order and bf16 outputs (so a kernel agrees to ~1e-3; dV more loosely where a block of fq(P) sits at the
// E4M3 underflow threshold, Appendix B).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace fastwan::quant {

enum class QatVAxis { tokens, head_dim };
enum class QatDFrom { o_prime, o };  // D = rowsum(dO ∘ O') (Attn-QAT) or rowsum(dO ∘ O)
enum class QatDvP { fq_normalized, fq_row_max, exact };  // P in dV: φ(P) (published), φ(P l) / l, or P

struct AttnQatParams {
  double sm_scale = 0.0;  // 0: 1 / sqrt(D)
  bool causal = false;
  int64_t block_n = 32;  // the forward's KV tile width (a multiple of 16); P^ depends on it
  QatVAxis v_axis = QatVAxis::tokens;
  QatDFrom d_from = QatDFrom::o_prime;
  QatDvP dv_p = QatDvP::fq_normalized;
  // Test switches: off, Q^ = Q, K^ = K, V^ = V and P^ = P (then O = O' = exact attention and the backward
  // is its exact gradient).
  bool quantize_qkv = true;
  bool quantize_p = true;
};

// q: [Sq, heads, D], k and v: [Sk, heads, D], D a multiple of 16, any float dtype (read as f32). Outputs f64:
// o, o_prime [Sq, heads, D], lse [Sq, heads].
struct AttnQatForward {
  Tensor o, o_prime, lse;
};
AttnQatForward attn_qat_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttnQatParams& p);

// o, o_prime, lse as the forward returns them (or the kernel's, any float dtype), d_o [Sq, heads, D]. Only
// the one of o / o_prime that params.d_from names is read. Outputs f64 in the shapes of q, k, v.
struct AttnQatGrads {
  Tensor dq, dk, dv;
};
AttnQatGrads attn_qat_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& o,
                               const Tensor& o_prime, const Tensor& lse, const Tensor& d_o,
                               const AttnQatParams& p);

}  // namespace fastwan::quant
