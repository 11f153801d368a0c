// The attention entry of the models whose sequences are short enough to hold the score matrix (the UMT5 text
// encoder's 512 tokens, the Wan VAE mid-block's pixels of one frame): the two products go through here, the
// model's own softmax kernel runs between them (T5: relative position bias and key mask, unscaled; the VAE: a
// plain scaled softmax). The DiT's long sequences use the fused kernel family (ops/cuda/attention.h).
//
// Q, K and V are column blocks of one row-major qkv buffer, heads side by side (head h in columns
// [h * head_dim, (h + 1) * head_dim) of each block), as a fused qkv projection writes them.
#pragma once

#include <cstdint>

#include "cuda/context.h"

namespace fastwan::cuda {

struct ScoreAttentionParams {
  const void* qkv = nullptr;  // bf16 [rows, ld]: q at column 0, k at q_cols, v at 2 q_cols
  int64_t ld = 0;
  int64_t rows = 0;
  int heads = 1;
  int64_t head_dim = 0;
  float* scores = nullptr;  // f32 [heads][rows][rows]: S_h = Q_h . K_h^T (unscaled)
  void* probs = nullptr;    // bf16 [heads][rows][rows]: the caller's softmax of the scores
  void* out = nullptr;      // bf16 [rows, ld_out]: O_h = P_h . V_h, head h at columns h * head_dim
  int64_t ld_out = 0;
};

void attention_scores(DeviceContext& ctx, const ScoreAttentionParams& p);
void attention_values(DeviceContext& ctx, const ScoreAttentionParams& p);

}  // namespace fastwan::cuda
