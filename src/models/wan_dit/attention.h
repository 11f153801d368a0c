// diffusers WanAttention (attn1 = self-attention with RoPE, attn2 = cross-attention over the text rows):
// to_q/to_k/to_v, RMSNorm of q and k across all heads (norm_q/norm_k, before the head split), scaled dot
// product attention with scale 1/sqrt(head_dim), to_out.0.
#pragma once

#include "models/common/nn.h"
#include "models/wan_dit/config.h"
#include "models/wan_dit/rope.h"
#include "parallel/ulysses.h"

namespace fastwan {

struct WanAttention {
  nn::Linear to_q, to_k, to_v, to_out_0;
  nn::NormParams norm_q, norm_k;  // weight [dim]
  int64_t heads = 0;
  float eps = 1e-6f;
  // sage8, fp4: the self-attention product as SageAttention2 (quant/sage.h) or Attn-QAT's FP4 kernel
  // (quant/fp4_attention.h) computes it; cross-attention stays exact.
  quant::AttentionMode mode = quant::AttentionMode::bf16;

  static Expected<WanAttention> load(const WeightStore& store, const WanDitConfig& config,
                                     const std::string& prefix);
  // to_q, to_k, to_v and to_out.0 in `mode` (nn::Linear::set_mode).
  Status set_linear_mode(quant::LinearMode mode, const std::string& prefix);
  // x: [S, dim] queries; context: [L, dim] keys/values source (x itself for self-attention).
  // rope: applied to q and k when given (self-attention only; the rows of x's tokens). shard: x holds this
  // rank's tokens of a sequence-parallel world (self-attention only): q, k and v go to a head shard for the
  // product and the output comes back (parallel/ulysses.h).
  Tensor operator()(const Tensor& x, const Tensor& context, const RopeTables* rope,
                    const parallel::UlyssesShard* shard = nullptr) const;
};

}  // namespace fastwan
