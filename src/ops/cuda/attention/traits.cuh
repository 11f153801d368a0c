// Per operand type: element size, how a 128 x 128 tile splits into 128-byte-wide swizzled parts (what TMA
// writes and wgmma reads), the K/V ring depth, and the kernel arguments every instantiation shares.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "ops/cuda/attention.h"

namespace fastwan::cuda::attention {

constexpr int kD = kAttentionHeadDim;
constexpr int kBlockM = 128;  // query rows per CTA (64 per consumer warpgroup)
constexpr int kBlockN = 128;  // keys per pipeline stage
constexpr int kThreads = 3 * 128;
constexpr int kPartBytes = 128 * 128;  // one [128 rows][128 bytes] swizzled part of a tile

// kReverse: key blocks are visited last to first (FA3's order, which Attn-QAT's single-level P depends on:
// each block's P is quantized relative to the running max at that point).
struct Bf16Traits {
  static constexpr int kElementBytes = 2;
  static constexpr int kStages = 2;  // 2 x (32 KB K + 32 KB V) + 32 KB Q
  static constexpr bool kReverse = false;
};

struct Fp4Traits {  // NVFP4 values emulated in bf16 operands
  static constexpr int kElementBytes = 2;
  static constexpr int kStages = 2;
  static constexpr bool kReverse = true;
};

struct Sage8Traits {
  static constexpr int kElementBytes = 1;
  static constexpr int kStages = 3;  // 3 x (16 KB K + 16 KB V) + 16 KB Q
  static constexpr bool kReverse = false;
};

// The key block the pipeline's step j visits.
template <class Traits>
__device__ __forceinline__ int key_block(int j, int n_blocks) {
  return Traits::kReverse ? n_blocks - 1 - j : j;
}

template <class Traits>
struct TileShape {
  static constexpr int kPartElements = 128 / Traits::kElementBytes;  // inner-dimension elements of a part
  static constexpr int kParts = kD / kPartElements;                  // 2 for bf16, 1 for 8-bit
  static constexpr int kTileBytes = kParts * kPartBytes;
};

struct KernelArgs {
  __nv_bfloat16* out;
  int heads, seq_q, seq_kv, out_stride;
  float scale_log2;  // softmax scale * log2(e)
  float* amax;
  const float* q_scale;
  const float* k_scale;
  const float* v_scale;
  float* lse;
};

__host__ __device__ inline KernelArgs kernel_args(const AttentionParams& p) {
  return {static_cast<__nv_bfloat16*>(p.out),
          p.heads,
          p.seq_q,
          p.seq_kv,
          p.out_stride,
          p.scale * 1.4426950408889634f,
          p.amax,
          p.q_scale,
          p.k_scale,
          p.v_scale,
          p.lse};
}

}  // namespace fastwan::cuda::attention
