// The register fragments every kernel of the family shares. A warp of wgmma m64nNk16 (Hopper) and a warp of
// mma.sync m16n8k16 (the portable kernels) hold a 16-row slice of S, P and O the same way: with g = lane / 4
// and t = lane % 4, a thread holds rows g and g + 8, columns 8 c + 2 t + {0, 1} of every 8-column chunk c,
// as acc[4 c + {0, 1}] (row g) and acc[4 c + {2, 3}] (row g + 8). So the softmax, φ on P, the packing of P
// into the A operand of the P.V product and the epilogue are written once, for both.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "ops/cuda/attention/softmax.cuh"
#include "ops/cuda/fp4_attention.cuh"

namespace fastwan::cuda::attention {

// Where a thread sits in a 128-row query tile: its group of four warps (a consumer warpgroup on Hopper) owns
// 64 rows, the thread two of them (row_in_wg and row_in_wg + 8) and the columns 8 c + col_in_chunk + {0, 1}.
struct ConsumerThread {
  int wg, warp, lane, row_in_wg, col_in_chunk;
  __device__ ConsumerThread(int warpgroup, int tid)
      : wg(warpgroup),
        warp(tid / 32),
        lane(tid % 32),
        row_in_wg(warp * 16 + lane / 4),
        col_in_chunk((lane % 4) * 2) {}
};

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

// P as bf16 pairs in A-fragment order: keys [16 kk, 16 kk + 16) are p[4 kk .. 4 kk + 3].
__device__ __forceinline__ void pack_p(const float (&sc)[64], uint32_t (&p)[32]) {
#pragma unroll
  for (int c = 0; c < 16; ++c) {
    p[2 * c] = pack_bf16(sc[4 * c], sc[4 * c + 1]);
    p[2 * c + 1] = pack_bf16(sc[4 * c + 2], sc[4 * c + 3]);
  }
}

// φ (unrounded scale) on every 16 keys of each row: a row's 16 keys of a group sit in the four threads of a
// quad (chunks 2g and 2g + 1, two columns each), so the block amax is a quad reduction.
__device__ __forceinline__ void quantize_p(float (&sc)[64]) {
#pragma unroll
  for (int g = 0; g < 8; ++g)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float* x[4] = {&sc[8 * g + 2 * r], &sc[8 * g + 2 * r + 1], &sc[8 * g + 4 + 2 * r],
                     &sc[8 * g + 5 + 2 * r]};
      float a = fmaxf(fmaxf(*x[0], *x[1]), fmaxf(*x[2], *x[3]));  // P >= 0
      a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 1));
      a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 2));
      const Fp4Block block(a);
#pragma unroll
      for (int i = 0; i < 4; ++i) *x[i] = block.unrounded(*x[i]);
    }
}

__device__ __forceinline__ void rescale(float (&o)[64], const Correction& corr) {
#pragma unroll
  for (int i = 0; i < 64; ++i) o[i] *= corr.row[(i % 4) / 2];
}

}  // namespace fastwan::cuda::attention
