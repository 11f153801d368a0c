#include "models/wan_dit/layout.h"

#include "models/common/layout_util.h"

namespace fastwan {

const NameRules& wan_dit_original_names() {
  static const NameRules rules = [] {
    NameRules r = {
        {"condition_embedder.time_embedder.linear_1", "time_embedding.0"},
        {"condition_embedder.time_embedder.linear_2", "time_embedding.2"},
        {"condition_embedder.time_proj", "time_projection.1"},
        {"condition_embedder.text_embedder.linear_1", "text_embedding.0"},
        {"condition_embedder.text_embedder.linear_2", "text_embedding.2"},
        {"blocks.#.scale_shift_table", "blocks.#.modulation"},
        {"blocks.#.norm2", "blocks.#.norm3"},
        {"blocks.#.ffn.net.0.proj", "blocks.#.ffn.0"},
        {"blocks.#.ffn.net.2", "blocks.#.ffn.2"},
        {"scale_shift_table", "head.modulation"},
        {"proj_out", "head.head"},
        {"patch_embedding", "patch_embedding"},
    };
    for (const auto& [diffusers, original] :
         {std::pair{"attn1", "self_attn"}, std::pair{"attn2", "cross_attn"}}) {
      const std::string d = std::string("blocks.#.") + diffusers, o = std::string("blocks.#.") + original;
      for (const char* p : {"q", "k", "v"}) r.push_back({d + ".to_" + p, o + "." + p});
      r.push_back({d + ".to_out.0", o + ".o"});
      r.push_back({d + ".norm_q", o + ".norm_q"});
      r.push_back({d + ".norm_k", o + ".norm_k"});
    }
    return r;
  }();
  return rules;
}

bool is_wan_dit_original(const WeightStore& store) {
  return store.contains("head.modulation");
}

bool is_wan_dit_diffusers(const WeightStore& store) {
  return store.contains("proj_out.weight") && store.contains("condition_embedder.time_proj.weight");
}

Expected<WanDitConfig> infer_wan_dit_config(const WeightStore& store) {
  ShapeReader s(store);
  WanDitConfig c;
  const Shape patch = s.shape("patch_embedding.weight", 5);
  const Shape text = s.shape("condition_embedder.text_embedder.linear_1.weight", 2);
  const Shape time = s.shape("condition_embedder.time_embedder.linear_1.weight", 2);
  const Shape ffn = s.shape("blocks.0.ffn.net.0.proj.weight", 2);
  const Shape out = s.shape("proj_out.weight", 2);
  FW_RETURN_IF_ERROR(s.status());
  const int64_t dim = patch[0];
  constexpr int64_t kHeadDim = 128;
  if (dim % kHeadDim != 0)
    return Error(store.source() + ": width " + std::to_string(dim) +
                 " is not a multiple of Wan's 128-wide heads; give a diffusers folder with config.json");
  c.attention_head_dim = kHeadDim;
  c.num_attention_heads = dim / kHeadDim;
  c.in_channels = patch[1];
  c.patch_size = {patch[2], patch[3], patch[4]};
  c.text_dim = text[1];
  c.freq_dim = time[1];
  c.ffn_dim = ffn[0];
  c.out_channels = out[0] / c.patch_volume();
  c.num_layers = count_indexed(store, "blocks.");
  c.cross_attn_norm = store.contains("blocks.0.norm2.weight");
  return c;
}

}  // namespace fastwan
