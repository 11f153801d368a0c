// Attn-QAT's NVFP4 quantizer φ on the device (quant/nvfp4.h fq_nvfp4_block is the oracle), for the emulated
// FP4 attention: the caller has the block's amax; φ(x) = e2m1(x * (1 / sf)) * sf with sf = e4m3(amax / 6), or
// e2m1(x / s) * sf with the unrounded s = amax / 6 for P; 0 when sf underflows to 0. The quotients are the
// IEEE ones the host computes (correctly rounded reciprocals, Markstein's correction for x / s), so codes
// match the oracle's; the value code * sf is exact in bf16. φ runs on every element of P in the attention
// kernels, so each element costs a handful of instructions: no division, no compare chain.
#pragma once

#include "quant/nvfp4_math.h"

namespace fastwan::cuda {

struct Fp4Block {
  float s, sf, inv, rcp_s;  // amax / 6, its E4M3 value, 1 / sf and RN(1 / s); both 0 when sf is 0

  __device__ __forceinline__ explicit Fp4Block(float amax) {
    s = quant::divide_by(amax, 6.0f, 1.0f / 6.0f);  // amax / 6 (6: the E2M1 maximum)
    sf = quant::e4m3_round(s);                      // round to nearest even, saturating
    // The zero-scale rule without a select per element: with both reciprocals 0, every value becomes 0.
    inv = sf > 0.0f ? __frcp_rn(sf) : 0.0f;
    rcp_s = sf > 0.0f ? __frcp_rn(s) : 0.0f;
  }
  __device__ __forceinline__ float rounded(float x) const {  // reciprocal_of_rounded (Q, K, V)
    return quant::e2m1_round(x * inv) * sf;
  }
  __device__ __forceinline__ float rounded_nonnegative(float x) const {  // the same for P >= 0 (training)
    return quant::e2m1_round_magnitude(x * inv) * sf;
  }
  __device__ __forceinline__ float unrounded(float x) const {  // unrounded_scale (P >= 0): x / s, exactly
    return quant::e2m1_round_block_quotient(quant::divide_by(x, s, rcp_s)) * sf;
  }
};

// φ on the 16 values of one row's key group held by the four threads of a quad (four each), values >= 0 (P):
// the group's amax is a quad reduction. kUnrounded: P's unrounded scale (inference, quant/fp4_attention.h);
// else the reciprocal of the rounded one (Attn-QAT's training P).
template <bool kUnrounded>
__device__ __forceinline__ void quantize_quad_group(float* const (&x)[4]) {
  float a = fmaxf(fmaxf(*x[0], *x[1]), fmaxf(*x[2], *x[3]));
  a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 1));
  a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 2));
  const Fp4Block block(a);
#pragma unroll
  for (int i = 0; i < 4; ++i) *x[i] = kUnrounded ? block.unrounded(*x[i]) : block.rounded_nonnegative(*x[i]);
}

}  // namespace fastwan::cuda
