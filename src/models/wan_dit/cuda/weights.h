// The Wan DiT's weights on the GPU, mirroring the checkpoint's module tree. Cast once to bf16 at load from
// whatever the checkpoint stores, then the ten linears of every block are put in the run's linear mode
// (cuda::Linear; embedders, time_proj and proj_out stay bf16 as in FastVideo). attn1's to_q/to_k/to_v are
// stacked into one [3 dim, dim] linear of three parts.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "cuda/context.h"
#include "io/weight_store.h"
#include "models/common/cuda/linear.h"
#include "models/wan_dit/config.h"

namespace fastwan::cuda {

struct DitBlockWeights {
  Linear attn1_qkv;  // to_q | to_k | to_v stacked, three parts
  Linear attn1_to_out;
  Tensor attn1_norm_q, attn1_norm_k;
  Linear attn2_to_q, attn2_to_k, attn2_to_v, attn2_to_out;
  Tensor attn2_norm_q, attn2_norm_k;
  Tensor norm2_weight, norm2_bias;
  Linear ffn_in, ffn_out;  // ffn.net.0.proj, ffn.net.2
};

struct DitWeights {
  quant::LinearMode linear_mode = quant::LinearMode::bf16;  // of the blocks' ten linears
  Linear patch_embedding;  // [dim, in_channels * patch volume]: the Conv3d as a matrix
  Linear time_linear_1, time_linear_2, time_proj;
  Linear text_linear_1, text_linear_2;
  Tensor block_tables;  // bf16 [layers, 6, dim]: every block's scale_shift_table
  Tensor head_table;    // bf16 [2, dim]
  Linear proj_out;
  std::vector<DitBlockWeights> blocks;

  size_t bytes() const;
};

// Uploads a checkpoint (shapes checked against the config, errors name the tensor).
Expected<DitWeights> upload_dit_weights(DeviceContext& ctx, const WanDitConfig& config,
                                        const WeightStore& store,
                                        quant::LinearMode mode = quant::LinearMode::bf16);
// Random weights made on the GPU with the same shapes and draws as `fastwan synth` (no files).
DitWeights random_dit_weights(DeviceContext& ctx, const WanDitConfig& config, uint64_t seed,
                              quant::LinearMode mode = quant::LinearMode::bf16);

}  // namespace fastwan::cuda
