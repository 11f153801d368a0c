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
#include "ops/cuda/mma.cuh"

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

// Chunk c (8 columns) of an accumulator (S, P, O; float or int) as the C fragment of one m16n8 product.
template <class T>
__device__ __forceinline__ T (&chunk(T (&acc)[64], int c))[4] {
  return *reinterpret_cast<T(*)[4]>(acc + 4 * c);
}

// P as the bf16 A fragment of k-step kk of the P.V product: keys [16 kk, 16 kk + 16) (mma.cuh's c_to_a).
__device__ __forceinline__ void p_fragment(uint32_t (&a)[4], const float (&sc)[64], int kk) {
  c_to_a(a, chunk(sc, 2 * kk), chunk(sc, 2 * kk + 1));
}

// All of P in A-fragment order: keys [16 kk, 16 kk + 16) are p[4 kk .. 4 kk + 3].
__device__ __forceinline__ void pack_p(const float (&sc)[64], uint32_t (&p)[32]) {
#pragma unroll
  for (int kk = 0; kk < 8; ++kk) p_fragment(*reinterpret_cast<uint32_t(*)[4]>(p + 4 * kk), sc, kk);
}

// φ (unrounded scale) on every 16 keys of each row: a row's 16 keys of a group are chunks 2g and 2g + 1,
// two columns each in the four threads of a quad.
__device__ __forceinline__ void quantize_p(float (&sc)[64]) {
#pragma unroll
  for (int g = 0; g < 8; ++g)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float* const x[4] = {&sc[8 * g + 2 * r], &sc[8 * g + 2 * r + 1], &sc[8 * g + 4 + 2 * r],
                           &sc[8 * g + 5 + 2 * r]};
      quantize_quad_group<true>(x);
    }
}

__device__ __forceinline__ void rescale(float (&o)[64], const Correction& corr) {
#pragma unroll
  for (int i = 0; i < 64; ++i) o[i] *= corr.row[(i % 4) / 2];
}

}  // namespace fastwan::cuda::attention
