// Online softmax over key blocks in base 2, on the fp32 S accumulator fragment of one consumer thread (its
// two rows, 32 columns of each block). kOffset shifts the exponent so that P's row maximum is 2^kOffset:
// 0 for bf16 P, 8.807 for e4m3 P (2^8.807 ~= 448, the e4m3 maximum: P uses the whole FP8 range with a
// static scale; the row sums carry the same factor, so it cancels).
#pragma once

#include <cmath>

#include "ops/cuda/attention/traits.cuh"
#include "ops/cuda/exp2.cuh"

namespace fastwan::cuda::attention {

struct Correction {
  float row[2];
};

template <int kOffsetMilli>  // the offset in thousandths (a float cannot be a template argument in C++17
                             // code)
struct OnlineSoftmax {
  static constexpr float kOffset = kOffsetMilli / 1000.0f;
  float max[2] = {-INFINITY, -INFINITY};  // running max of the scaled scores, minus kOffset
  float sum[2] = {0.0f, 0.0f};            // this thread's partial row sums of P

  // In place: s <- 2^(s * scale - m_new) (scale: softmax scale * log2(e), times the dequantization scales
  // for 8-bit scores); returns 2^(m_old - m_new) for rescaling O. With kMask, keys at or past `valid` (the
  // zero-filled tail of the last block: 8 c + col + e >= valid) become exactly 0.
  //
  // `scale` may differ between the four threads of a row's quad (8-bit scores: each thread's keys have their
  // own K group scale), so each thread scales its own maximum before the quad agrees on the row's: one max
  // of raw scores across threads with different scales would give each thread a different m_new.
  template <bool kMask>
  __device__ __forceinline__ Correction update(float (&sc)[64], float scale, int valid, int col) {
    if constexpr (kMask) {
#pragma unroll
      for (int c = 0; c < 16; ++c)
#pragma unroll
        for (int e = 0; e < 2; ++e)
          if (8 * c + col + e >= valid) sc[4 * c + e] = sc[4 * c + 2 + e] = -INFINITY;
    }
    // The thread's max on raw scores (scale > 0 commutes with max; each exponential is then one FMA).
    float m[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int c = 0; c < 16; ++c) {
      m[0] = fmaxf(m[0], fmaxf(sc[4 * c], sc[4 * c + 1]));
      m[1] = fmaxf(m[1], fmaxf(sc[4 * c + 2], sc[4 * c + 3]));
    }
    Correction corr;
    float neg_m[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      m[r] = m[r] == -INFINITY ? -INFINITY : m[r] * scale;  // a K group with no keys may have scale 0
      m[r] = fmaxf(m[r], __shfl_xor_sync(0xffffffff, m[r], 1));
      m[r] = fmaxf(m[r], __shfl_xor_sync(0xffffffff, m[r], 2));
      const float scaled = fmaxf(max[r], m[r] - kOffset);
      corr.row[r] = fast_exp2(max[r] - scaled);
      max[r] = scaled;
      sum[r] *= corr.row[r];
      neg_m[r] = -scaled;
    }
#pragma unroll
    for (int c = 0; c < 16; ++c)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float x = sc[4 * c + e];
        sc[4 * c + e] = kMask && x == -INFINITY ? 0.0f : fast_exp2(fmaf(x, scale, neg_m[e / 2]));
        sum[e / 2] += sc[4 * c + e];
      }
    return corr;
  }

  // The full row sums (the four threads of a quad hold a row's columns).
  __device__ __forceinline__ void reduce_sums() {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      sum[r] += __shfl_xor_sync(0xffffffff, sum[r], 1);
      sum[r] += __shfl_xor_sync(0xffffffff, sum[r], 2);
    }
  }
};

}  // namespace fastwan::cuda::attention
