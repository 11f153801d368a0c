#include "models/wan_dit/attention.h"

#include <cmath>

#include "quant/fp4_attention.h"
#include "quant/sage.h"

namespace fastwan {

Expected<WanAttention> WanAttention::load(const WeightStore& store, const WanDitConfig& c,
                                          const std::string& prefix) {
  WanAttention a;
  const int64_t dim = c.dim();
  a.heads = c.num_attention_heads;
  a.eps = static_cast<float>(c.eps);
  FW_ASSIGN_OR_RETURN(a.to_q, nn::Linear::load(store, prefix + ".to_q", dim, dim));
  FW_ASSIGN_OR_RETURN(a.to_k, nn::Linear::load(store, prefix + ".to_k", dim, dim));
  FW_ASSIGN_OR_RETURN(a.to_v, nn::Linear::load(store, prefix + ".to_v", dim, dim));
  FW_ASSIGN_OR_RETURN(a.to_out_0, nn::Linear::load(store, prefix + ".to_out.0", dim, dim));
  FW_ASSIGN_OR_RETURN(a.norm_q, nn::NormParams::load(store, prefix + ".norm_q", dim, false));
  FW_ASSIGN_OR_RETURN(a.norm_k, nn::NormParams::load(store, prefix + ".norm_k", dim, false));
  return a;
}

Status WanAttention::set_linear_mode(quant::LinearMode mode, const std::string& prefix) {
  FW_RETURN_IF_ERROR(to_q.set_mode(mode, prefix + ".to_q"));
  FW_RETURN_IF_ERROR(to_k.set_mode(mode, prefix + ".to_k"));
  FW_RETURN_IF_ERROR(to_v.set_mode(mode, prefix + ".to_v"));
  return to_out_0.set_mode(mode, prefix + ".to_out.0");
}

Tensor WanAttention::operator()(const Tensor& x, const Tensor& context, const RopeTables* rope,
                                const parallel::UlyssesShard* shard) const {
  const int64_t dim = to_q.out_features(), head_dim = dim / heads;
  Tensor q = ops::rms_norm(to_q(x), eps, norm_q.weight).reshape({x.dim(0), heads, head_dim});
  Tensor k = ops::rms_norm(to_k(context), eps, norm_k.weight).reshape({context.dim(0), heads, head_dim});
  Tensor v = to_v(context).reshape({context.dim(0), heads, head_dim});
  if (rope) {
    q = ops::rope_interleaved(q, rope->cos, rope->sin);
    k = ops::rope_interleaved(k, rope->cos, rope->sin);
  }
  if (shard) {
    q = parallel::tokens_to_heads(q, *shard);
    k = parallel::tokens_to_heads(k, *shard);
    v = parallel::tokens_to_heads(v, *shard);
  }
  ops::AttentionOptions options;
  options.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  Tensor o = mode == quant::AttentionMode::sage8 ? quant::sage8_attention(q, k, v, options.scale)
             : mode == quant::AttentionMode::fp4 ? quant::fp4_attention(q, k, v, options.scale)
                                                 : ops::attention(q, k, v, options);
  if (shard) o = parallel::heads_to_tokens(o, *shard);
  return to_out_0(o.reshape({x.dim(0), dim}));
}

}  // namespace fastwan
