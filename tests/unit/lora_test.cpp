// LoRA merging: a pair with known factors changes exactly its linear by scale * alpha / r * B A (in every key
// style), a LoRA of zeros changes nothing, and LoRAs that match nothing or do not fit are one-line errors.
#include <cstring>
#include <filesystem>

#include "common/test_util.h"
#include "models/checkpoint.h"
#include "models/wan_dit/lora.h"
#include "models/wan_dit/parameters.h"
#include "synth/random_weights.h"

namespace fastwan {
namespace {

using test::TempDir;

// The tiny DiT as an f32 folder, so that a merged weight is checked without a rounding to bf16.
std::string write_tiny_dit(const TempDir& dir) {
  const std::string d = dir.file("transformer");
  std::filesystem::create_directories(d);
  test::write_file(d + "/config.json", WanDitConfig::tiny().to_json().dump());
  EXPECT_TRUE(write_random_safetensors(d + "/diffusion_pytorch_model.safetensors",
                                       wan_dit_parameters(WanDitConfig::tiny()), DType::f32, 5)
                  .ok());
  return d;
}

// Small multiples of powers of two: every product and sum below is exact in f32.
Tensor exact_factors(Shape shape, uint64_t seed, float step) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.f32()[i] = step * static_cast<float>(
                            static_cast<int64_t>((seed * 7919 + static_cast<uint64_t>(i) * 104729) % 5) - 2);
  return t;
}

TEST(Lora, SpecsTakeAnOptionalScale) {
  ASSERT_OK_AND_ASSIGN(auto a, parse_lora_spec("style.safetensors"));
  EXPECT_EQ(a.path, "style.safetensors");
  EXPECT_EQ(a.scale, 1.0f);
  ASSERT_OK_AND_ASSIGN(auto b, parse_lora_spec("dir/style.safetensors:0.75"));
  EXPECT_EQ(b.path, "dir/style.safetensors");
  EXPECT_EQ(b.scale, 0.75f);
  ASSERT_OK_AND_ASSIGN(auto c, parse_lora_spec("a:b/style.safetensors"));
  EXPECT_EQ(c.path, "a:b/style.safetensors");
  EXPECT_FALSE(parse_lora_spec(":0.5").ok());
  EXPECT_FALSE(parse_lora_spec("x.safetensors:inf").ok());
}

TEST(Lora, KnownFactorsChangeOneLinearByExactlyScaleTimesBA) {
  TempDir dir;
  const std::string dit = write_tiny_dit(dir);
  ASSERT_OK_AND_ASSIGN(WeightStore before, open_component_weights(dit, Component::wan_dit));
  const int64_t dim = WanDitConfig::tiny().dim(), ffn = WanDitConfig::tiny().ffn_dim, r = 4;
  struct Style {
    std::string name, down, up, alpha_key, target;
    Shape w;
    float alpha;
  } styles[] = {
      {"peft",
       "transformer.blocks.0.attn1.to_q.lora_A.weight",
       "transformer.blocks.0.attn1.to_q.lora_B.weight",
       "",
       "blocks.0.attn1.to_q.weight",
       {dim, dim},
       static_cast<float>(r)},
      {"kohya",
       "lora_unet_blocks_1_self_attn_q.lora_down.weight",
       "lora_unet_blocks_1_self_attn_q.lora_up.weight",
       "lora_unet_blocks_1_self_attn_q.alpha",
       "blocks.1.attn1.to_q.weight",
       {dim, dim},
       2.0f * r},
      {"original",
       "diffusion_model.blocks.1.ffn.0.lora_A.weight",
       "diffusion_model.blocks.1.ffn.0.lora_B.weight",
       "",
       "blocks.1.ffn.net.0.proj.weight",
       {ffn, dim},
       static_cast<float>(r)},
  };
  const float scale = 0.5f;
  for (const auto& s : styles) {
    SCOPED_TRACE(s.name);
    const Tensor a = exact_factors({r, s.w[1]}, 1, 0.25f), b = exact_factors({s.w[0], r}, 2, 0.5f);
    std::map<std::string, Tensor> tensors = {{s.down, a}, {s.up, b}};
    if (!s.alpha_key.empty()) tensors[s.alpha_key] = Tensor::from_floats({}, {s.alpha});
    ASSERT_OK(write_safetensors(dir.file(s.name + ".safetensors"), tensors));
    ASSERT_OK_AND_ASSIGN(WeightStore store, open_component_weights(dit, Component::wan_dit));
    ASSERT_OK_AND_ASSIGN(auto lines, merge_loras(store, {{dir.file(s.name + ".safetensors"), scale}}));
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("1 of 1 modules (rank 4, scale 0.5)"), std::string::npos) << lines[0];
    for (const auto& name : before.names()) {
      ASSERT_OK_AND_ASSIGN(Tensor w0, before.get(name));
      ASSERT_OK_AND_ASSIGN(Tensor w1, store.get(name));
      if (name != s.target) {
        EXPECT_EQ(std::memcmp(w0.raw(), w1.raw(), w0.nbytes()), 0) << name << " changed";
        continue;
      }
      ASSERT_EQ(w1.describe(), w0.describe());
      const float factor = scale * s.alpha / static_cast<float>(r);
      for (int64_t o = 0; o < s.w[0]; ++o)
        for (int64_t i = 0; i < s.w[1]; ++i) {
          float ba = 0;
          for (int64_t k = 0; k < r; ++k) ba += b.f32()[o * r + k] * a.f32()[k * s.w[1] + i];
          ASSERT_EQ(w1.f32()[o * s.w[1] + i], w0.f32()[o * s.w[1] + i] + factor * ba) << o << ", " << i;
        }
    }
  }
}

TEST(Lora, ALoraOfZerosChangesNothing) {
  TempDir dir;
  const std::string dit = write_tiny_dit(dir);
  const int64_t dim = WanDitConfig::tiny().dim();
  std::map<std::string, Tensor> zeros;
  for (int blk = 0; blk < 2; ++blk)
    for (const char* p : {"to_q", "to_k", "to_v", "to_out.0"}) {
      const std::string m = "blocks." + std::to_string(blk) + ".attn2." + p;
      zeros[m + ".lora_A.weight"] = exact_factors({8, dim}, 3, 1.0f);
      zeros[m + ".lora_B.weight"] = Tensor::zeros({dim, 8});
    }
  ASSERT_OK(write_safetensors(dir.file("zero.safetensors"), zeros));
  ASSERT_OK_AND_ASSIGN(WeightStore before, open_component_weights(dit, Component::wan_dit));
  ASSERT_OK_AND_ASSIGN(WeightStore after, open_component_weights(dit, Component::wan_dit));
  ASSERT_OK_AND_ASSIGN(auto lines, merge_loras(after, {{dir.file("zero.safetensors"), 3.0f}}));
  EXPECT_NE(lines[0].find("8 of 8 modules"), std::string::npos) << lines[0];
  for (const auto& name : before.names()) {
    ASSERT_OK_AND_ASSIGN(Tensor w0, before.get(name));
    ASSERT_OK_AND_ASSIGN(Tensor w1, after.get(name));
    EXPECT_EQ(std::memcmp(w0.raw(), w1.raw(), w0.nbytes()), 0) << name;
  }
}

TEST(Lora, MismatchedLorasAreOneLineErrors) {
  TempDir dir;
  const std::string dit = write_tiny_dit(dir);
  const int64_t dim = WanDitConfig::tiny().dim();
  auto error_of = [&](const std::map<std::string, Tensor>& tensors) {
    EXPECT_TRUE(write_safetensors(dir.file("l.safetensors"), tensors).ok());
    auto store = open_component_weights(dit, Component::wan_dit);
    EXPECT_TRUE(store.ok());
    auto r = merge_loras(*store, {{dir.file("l.safetensors"), 1.0f}});
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.ok() ? "" : r.error().message().substr(0, 8), "--lora: ");
    return r.ok() ? std::string() : r.error().message();
  };
  const Tensor a = Tensor::zeros({4, dim}), b = Tensor::zeros({dim, 4});
  EXPECT_NE(error_of({{"unet.down.0.lora_A.weight", a}, {"unet.down.0.lora_B.weight", b}})
                .find("0 of 1 LoRA modules match a linear of the Wan DiT (first: 'unet.down.0')"),
            std::string::npos);
  EXPECT_NE(error_of({{"blocks.0.attn1.to_q.lora_A.weight", Tensor::zeros({4, dim + 1})},
                      {"blocks.0.attn1.to_q.lora_B.weight", b}})
                .find("LoRA for 'blocks.0.attn1.to_q.weight'"),
            std::string::npos);
  EXPECT_NE(error_of({{"blocks.0.attn1.to_q.lora_A.weight", a}}).find("only one of its two matrices"),
            std::string::npos);
}

}  // namespace
}  // namespace fastwan
