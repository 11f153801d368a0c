#include "models/wan_vae/layout.h"

#include "models/common/layout_util.h"

namespace fastwan {
namespace {

// A residual block's parts: diffusers names, then the original Sequential indices.
void add_residual(NameRules& r, const std::string& diffusers, const std::string& original) {
  r.push_back({diffusers + ".norm1", original + ".residual.0"});
  r.push_back({diffusers + ".conv1", original + ".residual.2"});
  r.push_back({diffusers + ".norm2", original + ".residual.3"});
  r.push_back({diffusers + ".conv2", original + ".residual.6"});
  r.push_back({diffusers + ".conv_shortcut", original + ".shortcut"});
}

}  // namespace

const NameRules& wan_vae_original_names() {
  static const NameRules rules = [] {
    constexpr int kLevels = 4, kResnets = 3;
    NameRules r;
    for (const std::string part : {"encoder", "decoder"}) {
      add_residual(r, part + ".mid_block.resnets.0", part + ".middle.0");
      add_residual(r, part + ".mid_block.resnets.1", part + ".middle.2");
      r.push_back({part + ".mid_block.attentions.0", part + ".middle.1"});
      r.push_back({part + ".conv_in", part + ".conv1"});
      r.push_back({part + ".norm_out", part + ".head.0"});
      r.push_back({part + ".conv_out", part + ".head.2"});
    }
    add_residual(r, "encoder.down_blocks.#", "encoder.downsamples.#");
    r.push_back({"encoder.down_blocks", "encoder.downsamples"});
    for (int level = 0; level < kLevels; ++level) {
      const std::string up = "decoder.up_blocks." + std::to_string(level);
      const int first = level * (kResnets + 1);
      for (int i = 0; i < kResnets; ++i)
        add_residual(r, up + ".resnets." + std::to_string(i),
                     "decoder.upsamples." + std::to_string(first + i));
      r.push_back({up + ".upsamplers.0", "decoder.upsamples." + std::to_string(first + kResnets)});
    }
    r.push_back({"quant_conv", "conv1"});
    r.push_back({"post_quant_conv", "conv2"});
    return r;
  }();
  return rules;
}

bool is_wan_vae_original(const WeightStore& store) {
  return store.contains("decoder.conv1.weight") && store.contains("decoder.head.0.gamma");
}

bool is_wan_vae_diffusers(const WeightStore& store) {
  return store.contains("decoder.conv_in.weight");
}

Expected<WanVaeConfig> infer_wan_vae_config(const WeightStore& store) {
  ShapeReader s(store);
  const Shape post = s.shape("post_quant_conv.weight", 5);
  const Shape conv_in = s.shape("decoder.conv_in.weight", 5);
  const Shape conv_out = s.shape("decoder.conv_out.weight", 5);
  FW_RETURN_IF_ERROR(s.status());
  WanVaeConfig c = WanVaeConfig::wan21();
  c.z_dim = post[0];
  c.decoder_base_dim = conv_out[1];
  c.base_dim = store.contains("encoder.conv_in.weight") ? store.info("encoder.conv_in.weight")->shape[0]
                                                        : c.decoder_base_dim;
  if (conv_in[0] != c.decoder_base_dim * c.dim_mult.back())
    return Error(store.source() + ": decoder.conv_in.weight " + shape_string(conv_in) +
                 " does not fit the Wan 2.1 VAE with base width " + std::to_string(c.decoder_base_dim));
  return c;
}

}  // namespace fastwan
