// The epilogue shared by every instantiation: O / l (times the per-channel V scale for 8-bit V) to bf16,
// straight from the accumulator registers to global memory (rows past seq_q are not stored); optionally the
// output's amax for FP8 scaling of the next linear and the log-sum-exp of every row.
#pragma once

#include "ops/cuda/amax.cuh"
#include "ops/cuda/attention/fragment.cuh"

namespace fastwan::cuda::attention {

template <bool kVScale, class Softmax>
__device__ __forceinline__ void store_output(const KernelArgs& args, const ConsumerThread& t, int q_tile,
                                             int head, const float (&o)[64], Softmax& sm) {
  sm.reduce_sums();
  const float inv[2] = {1.0f / sm.sum[0], 1.0f / sm.sum[1]};
  float vs[32];  // this thread's columns' V scales (8-bit V)
  if constexpr (kVScale) {
    const float* v_scale = args.v_scale + head * kD + t.col_in_chunk;
#pragma unroll
    for (int c = 0; c < 16; ++c) {
      vs[2 * c] = v_scale[8 * c];
      vs[2 * c + 1] = v_scale[8 * c + 1];
    }
  }
  float amax = 0.0f;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = q_tile * kBlockM + t.wg * 64 + t.row_in_wg + 8 * r;
    if (row >= args.seq_q) continue;
    if (args.lse && t.lane % 4 == 0)  // ln(sum_j 2^(s_j)) = ln 2 * (max + log2(l)): kOffset cancels
      args.lse[static_cast<size_t>(head) * args.seq_q + row] =
          0.6931471805599453f * (sm.max[r] + log2f(sm.sum[r]));
    __nv_bfloat16* dst = args.out + static_cast<size_t>(row) * args.out_stride + head * kD + t.col_in_chunk;
#pragma unroll
    for (int c = 0; c < 16; ++c) {
      float lo = o[4 * c + 2 * r] * inv[r], hi = o[4 * c + 2 * r + 1] * inv[r];
      if constexpr (kVScale) {
        lo *= vs[2 * c];
        hi *= vs[2 * c + 1];
      }
      const uint32_t v = pack_bf16x2(lo, hi);
      *reinterpret_cast<uint32_t*>(dst + 8 * c) = v;
      const __nv_bfloat162 h = *reinterpret_cast<const __nv_bfloat162*>(&v);
      amax = fmaxf(amax, fmaxf(fabsf(__low2float(h)), fabsf(__high2float(h))));
    }
  }
  if (args.amax) warp_fold_amax(args.amax, amax);
}

}  // namespace fastwan::cuda::attention
