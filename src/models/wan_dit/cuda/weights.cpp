#include "models/wan_dit/cuda/weights.h"

#include "core/log.h"
#include "cuda/check.h"
#include "cuda/device.h"
#include "cuda/weight_source.h"
#include "models/wan_dit/parameters.h"

namespace fastwan::cuda {
namespace {

// The checkpoint linears `prefixes` (stacked along out when several) as one Linear in `mode`.
Expected<Linear> linear(DeviceContext& ctx, WeightSource& src, const std::vector<std::string>& prefixes,
                        int64_t in, int64_t out, quant::LinearMode mode = quant::LinearMode::bf16) {
  std::vector<std::string> w, b;
  for (const auto& p : prefixes) {
    w.push_back(p + ".weight");
    b.push_back(p + ".bias");
  }
  // A quantized linear keeps its codes, not the bf16 weight: that is staged.
  FW_ASSIGN_OR_RETURN(Tensor weight,
                      mode == quant::LinearMode::bf16 ? src.get(w, {out, in}) : src.get_staged(w, {out, in}));
  FW_ASSIGN_OR_RETURN(Tensor bias, src.get(b, {out}));
  return Linear::create(ctx, weight, bias, mode, static_cast<int>(prefixes.size()));
}

Expected<DitWeights> build(DeviceContext& ctx, const WanDitConfig& c, WeightSource& src,
                           quant::LinearMode mode) {
  const int64_t d = c.dim();
  DitWeights w;
  w.linear_mode = mode;
  const auto& ps = c.patch_size;
  FW_ASSIGN_OR_RETURN(Tensor conv,
                      src.get("patch_embedding.weight", {d, c.in_channels, ps[0], ps[1], ps[2]}));
  FW_ASSIGN_OR_RETURN(Tensor conv_bias, src.get("patch_embedding.bias", {d}));
  w.patch_embedding = Linear::bf16(conv.reshape({d, c.in_channels * c.patch_volume()}), conv_bias);
  FW_ASSIGN_OR_RETURN(w.time_linear_1,
                      linear(ctx, src, {"condition_embedder.time_embedder.linear_1"}, c.freq_dim, d));
  FW_ASSIGN_OR_RETURN(w.time_linear_2, linear(ctx, src, {"condition_embedder.time_embedder.linear_2"}, d, d));
  FW_ASSIGN_OR_RETURN(w.time_proj, linear(ctx, src, {"condition_embedder.time_proj"}, d, 6 * d));
  FW_ASSIGN_OR_RETURN(w.text_linear_1,
                      linear(ctx, src, {"condition_embedder.text_embedder.linear_1"}, c.text_dim, d));
  FW_ASSIGN_OR_RETURN(w.text_linear_2, linear(ctx, src, {"condition_embedder.text_embedder.linear_2"}, d, d));
  std::vector<std::string> tables;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string b = "blocks." + std::to_string(i);
    tables.push_back(b + ".scale_shift_table");
    DitBlockWeights bw;
    FW_ASSIGN_OR_RETURN(
        bw.attn1_qkv,
        linear(ctx, src, {b + ".attn1.to_q", b + ".attn1.to_k", b + ".attn1.to_v"}, d, d, mode));
    FW_ASSIGN_OR_RETURN(bw.attn1_to_out, linear(ctx, src, {b + ".attn1.to_out.0"}, d, d, mode));
    FW_ASSIGN_OR_RETURN(bw.attn1_norm_q, src.get(b + ".attn1.norm_q.weight", {d}));
    FW_ASSIGN_OR_RETURN(bw.attn1_norm_k, src.get(b + ".attn1.norm_k.weight", {d}));
    FW_ASSIGN_OR_RETURN(bw.attn2_to_q, linear(ctx, src, {b + ".attn2.to_q"}, d, d, mode));
    FW_ASSIGN_OR_RETURN(bw.attn2_to_k, linear(ctx, src, {b + ".attn2.to_k"}, d, d, mode));
    FW_ASSIGN_OR_RETURN(bw.attn2_to_v, linear(ctx, src, {b + ".attn2.to_v"}, d, d, mode));
    FW_ASSIGN_OR_RETURN(bw.attn2_to_out, linear(ctx, src, {b + ".attn2.to_out.0"}, d, d, mode));
    FW_ASSIGN_OR_RETURN(bw.attn2_norm_q, src.get(b + ".attn2.norm_q.weight", {d}));
    FW_ASSIGN_OR_RETURN(bw.attn2_norm_k, src.get(b + ".attn2.norm_k.weight", {d}));
    if (c.cross_attn_norm) {
      FW_ASSIGN_OR_RETURN(bw.norm2_weight, src.get(b + ".norm2.weight", {d}));
      FW_ASSIGN_OR_RETURN(bw.norm2_bias, src.get(b + ".norm2.bias", {d}));
    }
    FW_ASSIGN_OR_RETURN(bw.ffn_in, linear(ctx, src, {b + ".ffn.net.0.proj"}, d, c.ffn_dim, mode));
    FW_ASSIGN_OR_RETURN(bw.ffn_out, linear(ctx, src, {b + ".ffn.net.2"}, c.ffn_dim, d, mode));
    w.blocks.push_back(std::move(bw));
  }
  FW_ASSIGN_OR_RETURN(w.block_tables, src.get(tables, {1, 6, d}));
  FW_ASSIGN_OR_RETURN(w.head_table, src.get("scale_shift_table", {1, 2, d}));
  FW_ASSIGN_OR_RETURN(w.proj_out, linear(ctx, src, {"proj_out"}, d, c.out_channels * c.patch_volume()));
  return w;
}

}  // namespace

size_t DitWeights::bytes() const {
  size_t n = 0;
  auto add = [&](const Tensor& t) { n += t.defined() ? t.nbytes() : 0; };
  auto lin = [&](const Linear& l) { n += l.bytes(); };
  for (const auto* l : {&patch_embedding, &time_linear_1, &time_linear_2, &time_proj, &text_linear_1,
                        &text_linear_2, &proj_out})
    lin(*l);
  add(block_tables);
  add(head_table);
  for (const auto& b : blocks) {
    for (const auto* l : {&b.attn1_qkv, &b.attn1_to_out, &b.attn2_to_q, &b.attn2_to_k, &b.attn2_to_v,
                          &b.attn2_to_out, &b.ffn_in, &b.ffn_out})
      lin(*l);
    for (const auto* t :
         {&b.attn1_norm_q, &b.attn1_norm_k, &b.attn2_norm_q, &b.attn2_norm_k, &b.norm2_weight, &b.norm2_bias})
      add(*t);
  }
  return n;
}

Expected<DitWeights> upload_dit_weights(DeviceContext& ctx, const WanDitConfig& config,
                                        const WeightStore& store, quant::LinearMode mode) {
  CheckpointSource src(store, ctx.stream());  // the stream Linear::create quantizes on
  auto w = build(ctx, config, src, mode);
  src.finish();
  log_info("transformer weights: " + src.summary());
  return w;
}

DitWeights random_dit_weights(DeviceContext& ctx, const WanDitConfig& config, uint64_t seed,
                              quant::LinearMode mode) {
  RandomSource src(wan_dit_parameters(config), seed);
  auto w = build(ctx, config, src, mode);
  FW_CHECK(w.ok(), "random weights: " + (w.ok() ? std::string() : w.error().message()));
  FW_CUDA_CHECK(cudaDeviceSynchronize());
  return std::move(w).value();
}

}  // namespace fastwan::cuda
