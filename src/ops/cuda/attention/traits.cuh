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

struct Bf16Traits {
  static constexpr AttentionOperands kOperands = AttentionOperands::bf16;
  static constexpr int kElementBytes = 2;
  static constexpr int kStages = 2;  // 2 x (32 KB K + 32 KB V) + 32 KB Q
};

struct Sage8Traits {
  static constexpr AttentionOperands kOperands = AttentionOperands::sage8;
  static constexpr int kElementBytes = 1;
  static constexpr int kStages = 3;  // 3 x (16 KB K + 16 KB V) + 16 KB Q
};

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

}  // namespace fastwan::cuda::attention
