#include "models/wan_dit/block.h"

namespace fastwan {

Tensor WanFeedForward::operator()(const Tensor& x) const {
  Tensor h = net_0_proj(x);
  ops::gelu_tanh_(h);
  return net_2(h);
}

Expected<WanTransformerBlock> WanTransformerBlock::load(const WeightStore& store, const WanDitConfig& c,
                                                        const std::string& prefix) {
  WanTransformerBlock b;
  const int64_t dim = c.dim();
  b.eps = static_cast<float>(c.eps);
  FW_ASSIGN_OR_RETURN(b.attn1, WanAttention::load(store, c, prefix + ".attn1"));
  FW_ASSIGN_OR_RETURN(b.attn2, WanAttention::load(store, c, prefix + ".attn2"));
  if (c.cross_attn_norm) {
    FW_ASSIGN_OR_RETURN(b.norm2, nn::NormParams::load(store, prefix + ".norm2", dim, true));
  }
  FW_ASSIGN_OR_RETURN(b.ffn.net_0_proj, nn::Linear::load(store, prefix + ".ffn.net.0.proj", dim, c.ffn_dim));
  FW_ASSIGN_OR_RETURN(b.ffn.net_2, nn::Linear::load(store, prefix + ".ffn.net.2", c.ffn_dim, dim));
  FW_ASSIGN_OR_RETURN(b.scale_shift_table, store.get(prefix + ".scale_shift_table", {1, 6, dim}));
  return b;
}

Status WanTransformerBlock::set_linear_mode(quant::LinearMode mode, const std::string& prefix) {
  FW_RETURN_IF_ERROR(attn1.set_linear_mode(mode, prefix + ".attn1"));
  FW_RETURN_IF_ERROR(attn2.set_linear_mode(mode, prefix + ".attn2"));
  FW_RETURN_IF_ERROR(ffn.net_0_proj.set_mode(mode, prefix + ".ffn.net.0.proj"));
  return ffn.net_2.set_mode(mode, prefix + ".ffn.net.2");
}

Tensor WanTransformerBlock::operator()(const Tensor& x, const Tensor& text, const Tensor& timestep_proj,
                                       const RopeTables& rope, const parallel::UlyssesShard* shard) const {
  const int64_t dim = x.dim(1);
  // e[i] = scale_shift_table[0, i] + timestep_proj[i]: shift, scale, gate, c_shift, c_scale, c_gate.
  const Tensor e = ops::add(scale_shift_table.to_f32().reshape({6, dim}), timestep_proj.reshape({6, dim}));
  auto chunk = [&](int i) { return e.select(0, i); };

  Tensor h = ops::modulate(ops::layer_norm(x, eps), chunk(1), chunk(0));
  Tensor r = ops::gated_add(x, attn1(h, h, &rope, shard), chunk(2));

  h = norm2.weight.defined() ? ops::layer_norm(r, eps, norm2.weight, norm2.bias) : r;
  r = ops::add(r, attn2(h, text, nullptr));

  h = ops::modulate(ops::layer_norm(r, eps), chunk(4), chunk(3));
  return ops::gated_add(r, ffn(h), chunk(5));
}

}  // namespace fastwan
