// SageAttention2's per-thread math on the shared fragment layout (fragment.cuh), for the Hopper mainloop and
// the portable kernel alike: S from the INT8 product dequantized inside the exponent, P to e4m3 in the
// A-fragment order of the FP8 product (the same for wgmma k32 and mma.sync m16n8k32: the thread holding S
// columns {2t, 2t+1, 8+2t, 9+2t} of a 16-key group supplies A k-slots {4t..4t+3}, which is why V^T's keys are
// stored permuted within groups of 16, sage_quant.h), and the two-level accumulation of P.V.
#pragma once

#include <cuda_fp8.h>

#include "ops/cuda/attention/fragment.cuh"

namespace fastwan::cuda::attention {

__device__ __forceinline__ uint32_t e4m3x4(float a, float b, float c, float d) {
  const uint32_t lo = __nv_cvt_float2_to_fp8x2(make_float2(a, b), __NV_SATFINITE, __NV_E4M3);
  const uint32_t hi = __nv_cvt_float2_to_fp8x2(make_float2(c, d), __NV_SATFINITE, __NV_E4M3);
  return (lo & 0xFFFF) | (hi << 16);
}

// P (the S fragment after the softmax) as e4m3 A fragments of the 4 k-steps of 32 keys: k-step kk holds the
// accumulator chunks 4 kk .. 4 kk + 3.
__device__ __forceinline__ void pack_p_e4m3(const float (&sc)[64], uint32_t (&p)[16]) {
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) {
    const float* x = sc + 16 * kk;
    p[4 * kk + 0] = e4m3x4(x[0], x[1], x[4], x[5]);      // row r, chunks 4kk and 4kk+1
    p[4 * kk + 1] = e4m3x4(x[2], x[3], x[6], x[7]);      // row r + 8
    p[4 * kk + 2] = e4m3x4(x[8], x[9], x[12], x[13]);    // row r, chunks 4kk+2 and 4kk+3
    p[4 * kk + 3] = e4m3x4(x[10], x[11], x[14], x[15]);  // row r + 8
  }
}

// The dequantization factor of the S fragment: c = softmax scale * log2(e) * this thread's Q group scale,
// times its K group's scale per block. A Q group wholly past seq_q was never written: scale 1 (its rows are
// not stored; a 0 would make the masked keys' -inf * 0 a NaN in them).
struct SageScales {
  float c_row;
  const float* k_scale;
  __device__ SageScales(const KernelArgs& args, const ConsumerThread& t, int q_tile, int head, int n_blocks) {
    const int first_row = q_tile * kBlockM + t.wg * 64 + t.row_in_wg;
    const int q64_blocks = (args.seq_q + 63) / 64;
    const size_t q_group =
        (static_cast<size_t>(head) * q64_blocks + q_tile * 2 + t.wg) * 32 + t.warp * 8 + t.lane / 4;
    c_row = args.scale_log2 * (first_row < args.seq_q ? args.q_scale[q_group] : 1.0f);
    k_scale = args.k_scale + static_cast<size_t>(head) * n_blocks * 4 + t.lane % 4;
  }
  __device__ float of_block(int j) const { return c_row * k_scale[4 * j]; }
};

// int32 S to fp32, then the online softmax of key block j with factor c. The conversion is exact
// (|S| <= 127 * 127 * 128 < 2^22) by the exponent-bias trick: the bits of 1.5 * 2^23 plus S are the float
// 1.5 * 2^23 + S, one float subtraction leaves S. An integer add and an FADD instead of I2F, a quarter-rate
// conversion on the pipe the exponentials and the e4m3 packing fill. With the pipelined mainloop that is
// 8.33 against 8.93 ms for the kernel at S = 32,760 (H100, 2026-12-07, same call, same inputs, bit-identical
// output); in the serial mainloop before it, it measured no faster.
__device__ __forceinline__ Correction sage_softmax(OnlineSoftmax<8807>& sm, const int (&si)[64],
                                                   float (&sc)[64], float c, int j, const KernelArgs& args,
                                                   const ConsumerThread& t) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23, bits 0x4B400000
#pragma unroll
  for (int i = 0; i < 64; ++i) sc[i] = __fsub_rn(__int_as_float(si[i] + 0x4B400000), kMagic);
  const int valid = args.seq_kv - j * kBlockN;
  return valid >= kBlockN ? sm.update<false>(sc, c, valid, t.col_in_chunk)
                          : sm.update<true>(sc, c, valid, t.col_in_chunk);
}

// O = O * 2^(m_old - m_new) + O_tmp: the rescale and the promotion in one FMA per element.
__device__ __forceinline__ void promote(float (&o)[64], const float (&ot)[64], const Correction& corr) {
#pragma unroll
  for (int i = 0; i < 64; ++i) o[i] = fmaf(o[i], corr.row[(i % 4) / 2], ot[i]);
}

}  // namespace fastwan::cuda::attention
