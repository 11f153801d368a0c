// Checkpoint layouts: each model's name table both ways (every tensor of the real models, spot-checked
// against the original Wan names), configs read from real-size shapes, and the tiny models written in each
// layout loading to the same tensors.
#include <cstring>
#include <set>

#include "common/test_util.h"
#include "io/name_rules.h"
#include "models/checkpoint.h"
#include "models/convert.h"
#include "models/umt5/layout.h"
#include "models/umt5/parameters.h"
#include "models/wan_dit/layout.h"
#include "models/wan_dit/parameters.h"
#include "models/wan_vae/layout.h"
#include "models/wan_vae/parameters.h"
#include "synth/synth.h"

namespace fastwan {
namespace {

using test::TempDir;

// Every name of `specs` goes to a distinct other name and back; `expected` pins some of them.
void expect_table_both_ways(const NameRules& rules, const std::vector<ParamSpec>& specs,
                            const std::map<std::string, std::string>& expected) {
  std::set<std::string> others;
  for (const auto& p : specs) {
    const auto other = apply_name_rules(rules, p.name, RenameTo::other);
    ASSERT_TRUE(other) << p.name << " has no rule";
    EXPECT_TRUE(others.insert(*other).second) << "two names become " << *other;
    const auto back = apply_name_rules(rules, *other, RenameTo::diffusers);
    ASSERT_TRUE(back) << *other;
    EXPECT_EQ(*back, p.name);
  }
  for (const auto& [diffusers, original] : expected) {
    EXPECT_EQ(apply_name_rules(rules, diffusers, RenameTo::other).value_or("none"), original);
    EXPECT_EQ(apply_name_rules(rules, original, RenameTo::diffusers).value_or("none"), diffusers);
  }
}

TEST(Layouts, DitTableBothWays) {
  expect_table_both_ways(wan_dit_original_names(), wan_dit_parameters(WanDitConfig::wan21_1_3b()),
                         {{"blocks.0.attn1.to_out.0.weight", "blocks.0.self_attn.o.weight"},
                          {"blocks.29.attn2.norm_k.weight", "blocks.29.cross_attn.norm_k.weight"},
                          {"blocks.3.attn2.to_v.bias", "blocks.3.cross_attn.v.bias"},
                          {"blocks.3.norm2.bias", "blocks.3.norm3.bias"},
                          {"blocks.3.ffn.net.0.proj.weight", "blocks.3.ffn.0.weight"},
                          {"blocks.3.ffn.net.2.bias", "blocks.3.ffn.2.bias"},
                          {"blocks.3.scale_shift_table", "blocks.3.modulation"},
                          {"scale_shift_table", "head.modulation"},
                          {"proj_out.bias", "head.head.bias"},
                          {"condition_embedder.time_proj.weight", "time_projection.1.weight"},
                          {"condition_embedder.time_embedder.linear_1.weight", "time_embedding.0.weight"},
                          {"condition_embedder.text_embedder.linear_2.bias", "text_embedding.2.bias"},
                          {"patch_embedding.weight", "patch_embedding.weight"}});
  // Whole parts only: a longer name is not taken for a shorter one.
  EXPECT_FALSE(
      apply_name_rules(wan_dit_original_names(), "blocks.1.self_attn.qk.weight", RenameTo::diffusers));
}

TEST(Layouts, Umt5TableBothWays) {
  expect_table_both_ways(
      umt5_original_names(), umt5_encoder_parameters(Umt5Config::umt5_xxl()),
      {{"shared.weight", "token_embedding.weight"},
       {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
        "blocks.0.pos_embedding.embedding.weight"},
       {"encoder.block.23.layer.0.SelfAttention.o.weight", "blocks.23.attn.o.weight"},
       {"encoder.block.3.layer.0.layer_norm.weight", "blocks.3.norm1.weight"},
       {"encoder.block.3.layer.1.DenseReluDense.wi_0.weight", "blocks.3.ffn.gate.0.weight"},
       {"encoder.block.3.layer.1.DenseReluDense.wi_1.weight", "blocks.3.ffn.fc1.weight"},
       {"encoder.block.3.layer.1.DenseReluDense.wo.weight", "blocks.3.ffn.fc2.weight"},
       {"encoder.block.3.layer.1.layer_norm.weight", "blocks.3.norm2.weight"},
       {"encoder.final_layer_norm.weight", "norm.weight"}});
}

TEST(Layouts, Umt5LlamaCppTableBothWays) {
  expect_table_both_ways(umt5_llama_cpp_names(), umt5_encoder_parameters(Umt5Config::umt5_xxl()),
                         {{"shared.weight", "token_embd.weight"},
                          {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                           "enc.blk.0.attn_rel_b.weight"},
                          {"encoder.block.5.layer.0.SelfAttention.o.weight", "enc.blk.5.attn_o.weight"},
                          {"encoder.block.5.layer.0.layer_norm.weight", "enc.blk.5.attn_norm.weight"},
                          {"encoder.block.5.layer.1.DenseReluDense.wi_0.weight", "enc.blk.5.ffn_gate.weight"},
                          {"encoder.block.5.layer.1.DenseReluDense.wi_1.weight", "enc.blk.5.ffn_up.weight"},
                          {"encoder.block.5.layer.1.DenseReluDense.wo.weight", "enc.blk.5.ffn_down.weight"},
                          {"encoder.block.5.layer.1.layer_norm.weight", "enc.blk.5.ffn_norm.weight"},
                          {"encoder.final_layer_norm.weight", "enc.output_norm.weight"}});
}

TEST(Layouts, VaeTableBothWays) {
  expect_table_both_ways(
      wan_vae_original_names(), wan_vae_parameters(WanVaeConfig::wan21()),
      {{"encoder.conv_in.weight", "encoder.conv1.weight"},
       {"encoder.down_blocks.0.norm1.gamma", "encoder.downsamples.0.residual.0.gamma"},
       {"encoder.down_blocks.3.conv_shortcut.bias", "encoder.downsamples.3.shortcut.bias"},
       {"encoder.down_blocks.2.resample.1.weight", "encoder.downsamples.2.resample.1.weight"},
       {"encoder.mid_block.resnets.1.conv2.weight", "encoder.middle.2.residual.6.weight"},
       {"decoder.mid_block.attentions.0.to_qkv.weight", "decoder.middle.1.to_qkv.weight"},
       {"decoder.up_blocks.0.upsamplers.0.time_conv.bias", "decoder.upsamples.3.time_conv.bias"},
       {"decoder.up_blocks.1.resnets.0.conv_shortcut.weight", "decoder.upsamples.4.shortcut.weight"},
       {"decoder.up_blocks.2.upsamplers.0.resample.1.weight", "decoder.upsamples.11.resample.1.weight"},
       {"decoder.up_blocks.3.resnets.2.norm2.gamma", "decoder.upsamples.14.residual.3.gamma"},
       {"decoder.norm_out.gamma", "decoder.head.0.gamma"},
       {"decoder.conv_out.bias", "decoder.head.2.bias"},
       {"quant_conv.weight", "conv1.weight"},
       {"post_quant_conv.bias", "conv2.bias"}});
}

// A store of headers only: shapes for config inference, no data.
WeightStore shapes_only(const std::vector<ParamSpec>& specs) {
  WeightStore store = WeightStore::of_readers("shapes", nullptr);
  for (const auto& p : specs) store.set(p.name, TensorInfo{p.name, DType::bf16, p.shape, 0, 0}, nullptr);
  return store;
}

TEST(Layouts, ConfigsAreReadFromRealSizeShapes) {
  const WanDitConfig dit = WanDitConfig::wan21_1_3b();
  ASSERT_OK_AND_ASSIGN(auto d, infer_wan_dit_config(shapes_only(wan_dit_parameters(dit))));
  EXPECT_EQ(d.to_json(), dit.to_json());
  for (const Umt5Config& c : {Umt5Config::umt5_xxl(), Umt5Config::tiny()}) {
    ASSERT_OK_AND_ASSIGN(auto u, infer_umt5_config(shapes_only(umt5_encoder_parameters(c))));
    EXPECT_EQ(u.to_json(), c.to_json());
  }
  for (const WanVaeConfig& c : {WanVaeConfig::wan21(), WanVaeConfig::tiny()}) {
    ASSERT_OK_AND_ASSIGN(auto v, infer_wan_vae_config(shapes_only(wan_vae_parameters(c))));
    EXPECT_EQ(v.to_json(), c.to_json());
  }
  // The tiny DiT's 32-wide heads cannot be told from shapes: its files carry the config.
  auto tiny = infer_wan_dit_config(shapes_only(wan_dit_parameters(WanDitConfig::tiny())));
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.error().message().find("not a multiple of Wan's 128-wide heads"), std::string::npos);
}

void expect_same_tensors(const WeightStore& a, const WeightStore& b) {
  ASSERT_EQ(a.names(), b.names());
  for (const auto& name : a.names()) {
    ASSERT_OK_AND_ASSIGN(Tensor x, a.get(name));
    ASSERT_OK_AND_ASSIGN(Tensor y, b.get(name));
    ASSERT_EQ(x.describe(), y.describe()) << name;
    EXPECT_EQ(std::memcmp(x.raw(), y.raw(), x.nbytes()), 0) << name;
  }
}

TEST(Layouts, TinyModelsWrittenInEachLayoutLoadTheSameTensors) {
  TempDir dir;
  const std::string root = dir.path().string();
  ASSERT_OK(synthesize_transformer(root, SynthPreset::tiny, 3));
  ASSERT_OK(synthesize_text_encoder(root, SynthPreset::tiny, 3));
  ASSERT_OK(synthesize_vae(root, SynthPreset::tiny, 3));
  ASSERT_OK_AND_ASSIGN(auto dit, open_wan_dit(root + "/transformer"));
  ASSERT_OK_AND_ASSIGN(auto te, open_umt5(root + "/text_encoder"));
  ASSERT_OK_AND_ASSIGN(auto vae, open_wan_vae(root + "/vae"));
  EXPECT_EQ(dit.store.layout(), "diffusers names");

  struct Case {
    std::string file, prefix, layout;
    bool original;
  } dit_cases[] = {
      {"comfy.safetensors", kComfyDitPrefix, "original Wan names, prefix model.diffusion_model.", true},
      {"wan.safetensors", "", "original Wan names", true},
      {"diffusers.safetensors", "", "diffusers names", false},
  };
  for (const auto& c : dit_cases) {
    SCOPED_TRACE(c.file);
    ASSERT_OK(write_component_file(dit.store, Component::wan_dit,
                                   {c.original, c.prefix, false, dit.config.to_json()}, dir.file(c.file)));
    ASSERT_OK_AND_ASSIGN(auto back, open_wan_dit(dir.file(c.file)));
    EXPECT_EQ(back.store.layout(), c.layout);
    EXPECT_EQ(back.config.to_json(), dit.config.to_json());
    expect_same_tensors(back.store, dit.store);
  }
  // The text encoder and the VAE in the original names, configs read from the shapes.
  ASSERT_OK(write_component_file(te.store, Component::umt5, {true, "", false, nullptr},
                                 dir.file("t5.safetensors")));
  ASSERT_OK_AND_ASSIGN(auto te_back, open_umt5(dir.file("t5.safetensors")));
  EXPECT_EQ(te_back.store.layout(), "original Wan names");
  EXPECT_EQ(te_back.config.to_json(), te.config.to_json());
  expect_same_tensors(te_back.store, te.store);
  ASSERT_OK(write_component_file(vae.store, Component::wan_vae, {true, "", false, nullptr},
                                 dir.file("vae.safetensors")));
  ASSERT_OK_AND_ASSIGN(auto vae_back, open_wan_vae(dir.file("vae.safetensors")));
  EXPECT_EQ(vae_back.config.to_json(), vae.config.to_json());
  expect_same_tensors(vae_back.store, vae.store);

  // A misshapen tensor is named as the loaders ask for it and as the file stores it.
  ASSERT_OK_AND_ASSIGN(auto original, open_wan_dit(dir.file("comfy.safetensors")));
  auto wrong = original.store.get("blocks.0.attn1.to_q.weight", {1, 1});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("(stored as 'model.diffusion_model.blocks.0.self_attn.q.weight')"),
            std::string::npos)
      << wrong.error().message();
}

TEST(Layouts, NamesOfNoComponentAreAnErrorOrNothing) {
  TempDir dir;
  ASSERT_OK(write_safetensors(dir.file("x.safetensors"),
                              std::map<std::string, Tensor>{{"latents", Tensor::zeros({2})}}));
  auto dit = open_wan_dit(dir.file("x.safetensors"));
  ASSERT_FALSE(dit.ok());
  EXPECT_NE(
      dit.error().message().find("cannot read the model's shape: tensor 'patch_embedding.weight' is missing"),
      std::string::npos)
      << dit.error().message();
  ASSERT_OK_AND_ASSIGN(auto any, open_any(dir.file("x.safetensors")));
  EXPECT_FALSE(any.has_value());
}

}  // namespace
}  // namespace fastwan
