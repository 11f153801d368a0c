// The files users already have, end to end: the synthesized tiny model written in each layout (ComfyUI /
// original Wan single files, scaled FP8, GGUF) generates the same video as its diffusers folder
// (bit-identical for the bf16 layouts, close for FP8 and Q8_0), `fastwan info` names each layout, `fastwan
// convert` writes folders that load to the same tensors, and LoRAs merge at load.
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/test_util.h"
#include "fuzz/gguf_files.h"
#include "io/name_rules.h"
#include "models/checkpoint.h"
#include "models/convert.h"
#include "models/umt5/layout.h"
#include "models/wan_dit/layout.h"

namespace fastwan {
namespace {

namespace fs = std::filesystem;
using test::fastwan_bin;
using test::run_command;

// Q8_0 blocks of 32 values: d = amax / 127 as f16, q = round(x / d) (the format's own quantizer).
std::string quantize_q8_0(const Tensor& t) {
  const Tensor x = t.to_f32().contiguous();
  std::string out;
  for (int64_t b = 0; b < x.numel() / 32; ++b) {
    const float* v = x.f32() + 32 * b;
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(v[i]));
    const uint16_t d = float_to_f16(amax / 127.0f);
    const float inv = f16_to_float(d) != 0 ? 1.0f / f16_to_float(d) : 0.0f;
    out.append(reinterpret_cast<const char*>(&d), 2);
    for (int i = 0; i < 32; ++i) out += static_cast<char>(static_cast<int8_t>(std::lround(v[i] * inv)));
  }
  return out;
}

// A component as a GGUF file in another layout's names (City96 / llama.cpp style): Q8_0 matrices, the rest
// as stored (bf16); the config, when given, in the key/values.
void write_gguf(const WeightStore& store, const NameRules& rules, const nlohmann::json& config,
                const std::string& path) {
  std::vector<test::GgufTensorData> tensors;
  for (const auto& name : store.names()) {
    const Tensor t = store.get(name).value().contiguous();
    const std::string stored = apply_name_rules(rules, name, RenameTo::other).value();
    if (t.ndim() == 2 && t.dim(1) % 32 == 0)
      tensors.push_back({stored, 8, t.shape(), quantize_q8_0(t)});
    else
      tensors.push_back({stored, 30, t.shape(), std::string(static_cast<const char*>(t.raw()), t.nbytes())});
  }
  std::vector<std::pair<std::string, std::string>> kvs = {{"general.architecture", "wan"}};
  if (!config.is_null()) kvs.push_back({"config", config.dump()});
  test::write_file(path, test::gguf_image(tensors, kvs));
}

// Mean absolute difference of two videos' bytes (same size).
double mean_difference(const std::string& a, const std::string& b) {
  EXPECT_EQ(a.size(), b.size());
  double sum = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    sum +=
        std::abs(static_cast<int>(static_cast<uint8_t>(a[i])) - static_cast<int>(static_cast<uint8_t>(b[i])));
  return a.empty() ? 0 : sum / static_cast<double>(a.size());
}

class FormatsCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    auto s = run_command(fastwan_bin() + " synth --preset tiny --out " + model());
    ASSERT_EQ(s.status, 0) << s.output;
    auto dit = open_wan_dit(model() + "/transformer").value();
    auto te = open_umt5(model() + "/text_encoder").value();
    auto vae = open_wan_vae(model() + "/vae").value();
    const nlohmann::json config = dit.config.to_json();
    ASSERT_OK(write_component_file(dit.store, Component::wan_dit, {true, kComfyDitPrefix, false, config},
                                   file("dit_comfy.safetensors")));
    ASSERT_OK(write_component_file(dit.store, Component::wan_dit, {true, kComfyDitPrefix, true, config},
                                   file("dit_fp8.safetensors")));
    ASSERT_OK(
        write_component_file(te.store, Component::umt5, {true, "", false, nullptr}, file("t5.safetensors")));
    ASSERT_OK(write_component_file(te.store, Component::umt5, {false, "", true, nullptr},
                                   file("umt5_fp8.safetensors")));
    ASSERT_OK(write_component_file(vae.store, Component::wan_vae, {true, "", false, nullptr},
                                   file("vae.safetensors")));
    write_gguf(dit.store, wan_dit_original_names(), config, file("dit.gguf"));
    write_gguf(te.store, umt5_llama_cpp_names(), nullptr, file("umt5.gguf"));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string model() { return dir_->file("m"); }
  static std::string file(const std::string& name) { return dir_->file(name); }
  // A 9-frame 64x48 video of `--model ARGS` through DMD and the Wan VAE, as y4m bytes ("" on failure).
  static std::string video(const std::string& model_args, const std::string& extra = "") {
    static int n = 0;
    const std::string out = file(std::to_string(++n) + ".y4m");
    auto r =
        run_command(fastwan_bin() + " generate -p 'a curious raccoon' --model " + model_args +
                    " -W 64 -H 48 --frames 9 -s 7 --sampler dmd --decoder wan-vae " + extra + " -o " + out);
    EXPECT_EQ(r.status, 0) << r.output;
    return r.status == 0 ? test::read_file(out) : "";
  }
  static test::TempDir* dir_;
};
test::TempDir* FormatsCli::dir_ = nullptr;

TEST_F(FormatsCli, SingleFilesInTheOriginalLayoutGiveTheSameVideo) {
  const std::string reference = video(model());
  ASSERT_GT(reference.size(), 9u * 64 * 48);
  const std::string parts = " --text-encoder " + file("t5.safetensors") + " --vae " +
                            file("vae.safetensors") + " --tokenizer " + model() + "/tokenizer";
  EXPECT_TRUE(video(file("dit_comfy.safetensors") + parts) == reference) << "ComfyUI single files";
  EXPECT_TRUE(video(file("dit_comfy.safetensors") + " --base " + model()) == reference)
      << "the rest from --base";
  EXPECT_TRUE(video(model() + " --text-encoder " + file("t5.safetensors")) == reference)
      << "a folder's part replaced";
}

TEST_F(FormatsCli, ScaledFp8AndGgufStayCloseToTheBf16Video) {
  const std::string reference = video(model());
  const double seed_change = mean_difference(reference, video(model(), "-s 6"));
  const std::string base = " --base " + model();
  const double fp8 = mean_difference(reference, video(file("dit_fp8.safetensors") + base));
  const double fp8_te =
      mean_difference(reference, video(model() + " --text-encoder " + file("umt5_fp8.safetensors")));
  const double q8 = mean_difference(reference, video(file("dit.gguf") + base));
  const double q8_te = mean_difference(reference, video(model() + " --text-encoder " + file("umt5.gguf")));
  std::printf(
      "mean |difference| per byte: another seed %.2f, scaled FP8 DiT %.2f, FP8 text encoder %.2f, "
      "Q8_0 GGUF DiT %.2f, Q8_0 GGUF text encoder %.2f\n",
      seed_change, fp8, fp8_te, q8, q8_te);
  EXPECT_GT(seed_change, 1.0);
  EXPECT_LT(fp8, 0.25 * seed_change);
  EXPECT_LT(fp8_te, 0.25 * seed_change);
  EXPECT_LT(q8, 0.1 * seed_change);
  EXPECT_LT(q8_te, 0.1 * seed_change);
}

TEST_F(FormatsCli, InfoNamesTheLayout) {
  struct Case {
    std::string file, expected;
  } cases[] = {
      {"dit_comfy.safetensors",
       "layout: single file, Wan DiT (original Wan names, prefix model.diffusion_model.)"},
      {"dit_fp8.safetensors",
       "layout: single file, Wan DiT (original Wan names, prefix model.diffusion_model., scaled FP8 "
       "(fp8_e4m3), 20 layers)"},
      {"dit.gguf", "layout: single file, Wan DiT (GGUF, original Wan names)"},
      {"t5.safetensors", "layout: single file, UMT5 text encoder (original Wan names)"},
      {"vae.safetensors", "layout: single file, Wan VAE (original Wan names)"},
      {"umt5.gguf", "layout: single file, UMT5 text encoder (GGUF, llama.cpp T5 names)"},
  };
  for (const auto& c : cases) {
    auto r = run_command(fastwan_bin() + " info " + file(c.file));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("(read from the file)"), std::string::npos) << r.output;
  }
  auto gguf = run_command(fastwan_bin() + " info " + file("dit.gguf"));
  EXPECT_NE(gguf.output.find("ggml types: bf16 x"), std::string::npos) << gguf.output;
  EXPECT_NE(gguf.output.find("q8_0 x"), std::string::npos) << gguf.output;
}

TEST_F(FormatsCli, ConvertWritesAFolderOfTheSameTensors) {
  test::TempDir out;
  fs::copy(model(), out.file("m"), fs::copy_options::recursive);
  fs::remove_all(out.file("m/transformer"));
  auto r = run_command(fastwan_bin() + " convert " + file("dit_comfy.safetensors") + " -o " +
                       out.file("m/transformer"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("as a diffusers folder"), std::string::npos) << r.output;
  EXPECT_TRUE(video(out.file("m")) == video(model())) << "converted back to a diffusers folder";
  r = run_command(fastwan_bin() + " convert " + model() + "/transformer --scaled-fp8 -o " +
                  out.file("fp8.safetensors"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto info = run_command(fastwan_bin() + " info " + out.file("fp8.safetensors"));
  EXPECT_NE(info.output.find("scaled FP8 (fp8_e4m3), 20 layers"), std::string::npos) << info.output;
}

TEST_F(FormatsCli, LorasMergeAtLoadAndOneThatMatchesNothingIsAnError) {
  const std::string reference = video(model());
  const WanDitConfig c = WanDitConfig::tiny();
  std::map<std::string, Tensor> zero = {
      {"diffusion_model.blocks.0.self_attn.q.lora_A.weight", test::random_tensor({4, c.dim()}, 1)},
      {"diffusion_model.blocks.0.self_attn.q.lora_B.weight", Tensor::zeros({c.dim(), 4})}};
  ASSERT_OK(write_safetensors(file("zero_lora.safetensors"), zero));
  std::map<std::string, Tensor> strong = zero;
  strong["diffusion_model.blocks.0.self_attn.q.lora_B.weight"] = test::random_tensor({c.dim(), 4}, 2);
  ASSERT_OK(write_safetensors(file("lora.safetensors"), strong));
  EXPECT_TRUE(video(model(), "--lora " + file("zero_lora.safetensors")) == reference);
  EXPECT_FALSE(video(model(), "--lora " + file("lora.safetensors") + ":2") == reference);
  auto info = run_command(fastwan_bin() + " info " + file("lora.safetensors"));
  EXPECT_NE(info.output.find("layout: LoRA, 1 low-rank modules"), std::string::npos) << info.output;
  std::map<std::string, Tensor> other = {{"unet.mid.lora_A.weight", Tensor::zeros({4, 8})},
                                         {"unet.mid.lora_B.weight", Tensor::zeros({8, 4})}};
  ASSERT_OK(write_safetensors(file("other_lora.safetensors"), other));
  auto r = run_command(fastwan_bin() + " generate -p x --model " + model() + " --lora " +
                       file("other_lora.safetensors") + " -o " + file("never.y4m"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("0 of 1 LoRA modules match a linear of the Wan DiT"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << r.output;
  EXPECT_FALSE(fs::exists(file("never.y4m")));
}

TEST_F(FormatsCli, ASingleFileWithoutItsPartsSaysWhichFlagNamesThem) {
  auto r = run_command(fastwan_bin() + " generate -p x --model " + file("dit_comfy.safetensors") + " -o " +
                       file("n.y4m"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find(
                "missing text_encoder/ (expected the UMT5 text encoder: config.json and weights): --model "
                "is a single transformer file"),
            std::string::npos)
      << r.output;
  r = run_command(fastwan_bin() + " generate -p x --model " + file("dit_comfy.safetensors") +
                  " --text-encoder " + file("nope.safetensors") + " -o " + file("n.y4m"));
  EXPECT_NE(r.output.find("--text-encoder " + file("nope.safetensors") + ": no such file or folder"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace fastwan
