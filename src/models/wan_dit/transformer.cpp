#include "models/wan_dit/transformer.h"

#include <optional>

#include "core/log.h"
#include "models/checkpoint.h"
#include "parallel/ulysses.h"

namespace fastwan {

Expected<WanTransformer3DModel> WanTransformer3DModel::load(const std::string& path,
                                                            const quant::ModelOptions& options) {
  FW_ASSIGN_OR_RETURN(auto ckpt, open_wan_dit(path));
  return load(ckpt.config, ckpt.store, options);
}

Expected<WanTransformer3DModel> WanTransformer3DModel::load(const WanDitConfig& c, const WeightStore& store,
                                                            const quant::ModelOptions& options) {
  WanTransformer3DModel m;
  m.config_ = c;
  m.options_ = options;
  m.store_ = store;
  const int64_t dim = c.dim();
  FW_ASSIGN_OR_RETURN(m.patch_embedding_weight_,
                      store.get("patch_embedding.weight",
                                {dim, c.in_channels, c.patch_size[0], c.patch_size[1], c.patch_size[2]}));
  FW_ASSIGN_OR_RETURN(m.patch_embedding_bias_, store.get("patch_embedding.bias", {dim}));
  FW_ASSIGN_OR_RETURN(m.condition_embedder_, WanConditionEmbedder::load(store, c, "condition_embedder."));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string prefix = "blocks." + std::to_string(i);
    FW_ASSIGN_OR_RETURN(auto block, WanTransformerBlock::load(store, c, prefix));
    FW_RETURN_IF_ERROR(block.set_linear_mode(options.linear, prefix));
    block.attn1.mode = options.attention;
    m.blocks_.push_back(std::move(block));
  }
  FW_ASSIGN_OR_RETURN(m.scale_shift_table_, store.get("scale_shift_table", {1, 2, dim}));
  FW_ASSIGN_OR_RETURN(m.proj_out_,
                      nn::Linear::load(store, "proj_out", dim, c.out_channels * c.patch_volume()));
  if (store.contains("blocks." + std::to_string(c.num_layers) + ".scale_shift_table"))
    return Error(store.source() + ": holds more blocks than num_layers = " + std::to_string(c.num_layers) +
                 " in config.json");
  return m;
}

Expected<Tensor> WanTransformer3DModel::forward(const Tensor& latents, float timestep, const Tensor& context,
                                                const DitTrace& trace) const {
  return run(latents, timestep, context, nullptr, trace);
}

Expected<Tensor> WanTransformer3DModel::forward(const Tensor& latents, float timestep, const Tensor& context,
                                                parallel::Communicator& comm, const DitTrace& trace) const {
  return run(latents, timestep, context, &comm, trace);
}

Expected<Tensor> WanTransformer3DModel::run(const Tensor& latents, float timestep, const Tensor& context,
                                            parallel::Communicator* comm, const DitTrace& trace) const {
  const WanDitConfig& c = config_;
  const auto& p = c.patch_size;
  if (latents.ndim() != 5 || latents.dim(0) != 1 || latents.dim(1) != c.in_channels)
    return Error("DiT input: expected latents [1, " + std::to_string(c.in_channels) + ", T, H, W], got " +
                 latents.describe());
  if (latents.dim(2) % p[0] || latents.dim(3) % p[1] || latents.dim(4) % p[2])
    return Error("DiT input: latent size " + shape_string(latents.shape()) +
                 " is not a multiple of patch_size [" + std::to_string(p[0]) + ", " + std::to_string(p[1]) +
                 ", " + std::to_string(p[2]) + "]");
  if (context.ndim() != 3 || context.dim(0) != 1 || context.dim(2) != c.text_dim)
    return Error("DiT input: expected text context [1, L, " + std::to_string(c.text_dim) + "], got " +
                 context.describe());
  auto emit = [&](const std::string& name, const Tensor& t) {
    if (trace) trace(name, t);
  };

  const int64_t dim = c.dim();
  const int64_t gt = latents.dim(2) / p[0], gh = latents.dim(3) / p[1], gw = latents.dim(4) / p[2];
  const int64_t tokens = gt * gh * gw;

  // Patch embedding: Conv3d with kernel = stride = patch_size, then [dim, t, h, w] -> [S, dim].
  ops::Conv3dOptions conv;
  for (int i = 0; i < 3; ++i) conv.stride[i] = static_cast<int>(p[i]);
  const Tensor x_in =
      latents.to_f32().reshape({c.in_channels, latents.dim(2), latents.dim(3), latents.dim(4)});
  Tensor x = ops::conv3d(x_in, patch_embedding_weight_, patch_embedding_bias_, conv)
                 .reshape({dim, tokens})
                 .permute({1, 0})
                 .contiguous();
  emit("patch_embed_out", x);

  const ConditionEmbedding cond =
      condition_embedder_(timestep, context.to_f32().reshape({context.dim(1), c.text_dim}));
  emit("temb", cond.temb);
  emit("timestep_proj", cond.timestep_proj);
  emit("text_embed_out", cond.text);

  RopeTables rope = wan_rope_tables(c, gt, gh, gw);
  // Sequence parallel: this rank's rows of the tokens and of the RoPE tables (the patch embedding and the
  // conditioning are cheap and computed whole on every rank).
  std::optional<parallel::UlyssesShard> shard;
  if (comm && comm->size() > 1) {
    FW_RETURN_IF_ERROR(parallel::check_ulysses(comm->size(), tokens, c.num_attention_heads));
    shard = parallel::UlyssesShard{comm, tokens, c.num_attention_heads};
    const int64_t first = shard->first_token(), last = first + shard->local_tokens();
    x = x.slice(0, first, last).contiguous();
    rope = {rope.cos.slice(0, first, last).contiguous(), rope.sin.slice(0, first, last).contiguous()};
  }
  const Tensor tproj = cond.timestep_proj.reshape({6 * dim});
  for (size_t i = 0; i < blocks_.size(); ++i) {
    x = blocks_[i](x, cond.text, tproj, rope, shard ? &*shard : nullptr);
    emit("block_" + std::to_string(i) + "_out", x);
    log_debug("DiT block " + std::to_string(i + 1) + "/" + std::to_string(blocks_.size()));
  }

  // Head: shift, scale = scale_shift_table + temb.
  const Tensor e = ops::add(scale_shift_table_.to_f32().reshape({2, dim}), cond.temb.reshape({dim}));
  Tensor y =
      proj_out_(ops::modulate(ops::layer_norm(x, static_cast<float>(c.eps)), e.select(0, 1), e.select(0, 0)));
  if (shard) y = parallel::gather_tokens(y, *shard);

  // Unpatchify: y [t, h, w, pt, ph, pw, C] -> [C, t*pt, h*ph, w*pw].
  const int64_t co = c.out_channels;
  Tensor out = y.reshape({gt, gh, gw, p[0], p[1], p[2], co})
                   .permute({6, 0, 3, 1, 4, 2, 5})
                   .contiguous()
                   .reshape({1, co, gt * p[0], gh * p[1], gw * p[2]});
  return out;
}

}  // namespace fastwan
