// diffusers WanTransformerBlock (float32 reference semantics):
//   shift, scale, gate, c_shift, c_scale, c_gate = scale_shift_table + timestep_proj   (6 x [dim])
//   x = x + attn1(LN(x) * (1 + scale) + shift) * gate                 (norm1: no affine)
//   x = x + attn2(norm2(x), text)                                     (norm2: affine LN when cross_attn_norm)
//   x = x + ffn(LN(x) * (1 + c_scale) + c_shift) * c_gate             (norm3: no affine)
#pragma once

#include "models/wan_dit/attention.h"

namespace fastwan {

struct WanFeedForward {  // diffusers FeedForward(activation_fn="gelu-approximate"): net.0.proj -> GELU(tanh)
                         // -> net.2
  nn::Linear net_0_proj, net_2;
  Tensor operator()(const Tensor& x) const;
};

struct WanTransformerBlock {
  WanAttention attn1, attn2;
  nn::NormParams norm2;  // affine LN before cross-attention (empty when cross_attn_norm is false)
  WanFeedForward ffn;
  Tensor scale_shift_table;  // [1, 6, dim]
  float eps = 1e-6f;

  static Expected<WanTransformerBlock> load(const WeightStore& store, const WanDitConfig& config,
                                            const std::string& prefix);
  // The ten quantized linears of a block (attn1, attn2, ffn.net.0.proj, ffn.net.2) in `mode`.
  Status set_linear_mode(quant::LinearMode mode, const std::string& prefix);
  // x: [S, dim]; text: [L, dim]; timestep_proj: [6 * dim]; rope: x's rows. With a shard, x is this rank's
  // tokens of a sequence-parallel world (only the self-attention communicates).
  Tensor operator()(const Tensor& x, const Tensor& text, const Tensor& timestep_proj, const RopeTables& rope,
                    const parallel::UlyssesShard* shard = nullptr) const;
};

}  // namespace fastwan
