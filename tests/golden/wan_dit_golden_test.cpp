// The Wan DiT CPU reference against diffusers (wan_dit_tiny): every stored intermediate at 1e-4 relative.
#include <filesystem>
#include <set>

#include "common/test_util.h"
#include "models/wan_dit/transformer.h"
#include "synth/synth.h"
#include "verify/golden_case.h"

namespace fastwan {
namespace {

TEST(WanDitGolden, EveryIntermediateMatchesDiffusers) {
  ASSERT_OK_AND_ASSIGN(auto gc, GoldenCase::load(test::golden_case("wan_dit_tiny")));
  ASSERT_OK_AND_ASSIGN(auto verifier, find_verifier(gc.component));
  ASSERT_OK_AND_ASSIGN(VerifyReport report, verifier(gc, VerifyOptions{}));
  std::set<std::string> checked;
  for (const auto& c : report.checks()) {
    checked.insert(c.name);
    EXPECT_TRUE(c.pass) << c.name << " rel err " << c.value;
    EXPECT_LE(c.value, 1e-4) << c.name;
  }
  for (const char* name :
       {"patch_embed_out", "temb", "timestep_proj", "text_embed_out", "block_0_out", "block_1_out", "sample"})
    EXPECT_TRUE(checked.count(name)) << name << " was not compared";
}

// The cases computed in a precision mode by an independent PyTorch reference
// (scripts/golden/make_mode_cases.py): the CPU runs each in the modes its case.json names and meets the
// case's own tolerance.
TEST(WanDitGolden, ModeCasesVerifyInTheirModes) {
  const std::pair<const char*, quant::ModelOptions> cases[] = {
      {"wan_dit_tiny_fp8", {quant::LinearMode::fp8, quant::AttentionMode::bf16}},
      {"wan_dit_tiny_fp8_row", {quant::LinearMode::fp8_row, quant::AttentionMode::bf16}},
      {"wan_dit_tiny_sage8", {quant::LinearMode::bf16, quant::AttentionMode::sage8}},
      {"wan_dit_tiny_fp8_sage8", {quant::LinearMode::fp8, quant::AttentionMode::sage8}},
      {"wan_dit_tiny_nvfp4", {quant::LinearMode::nvfp4, quant::AttentionMode::bf16}},
      {"wan_dit_tiny_fp4", {quant::LinearMode::bf16, quant::AttentionMode::fp4}},
      {"wan_dit_tiny_nvfp4_fp4", {quant::LinearMode::nvfp4, quant::AttentionMode::fp4}},
      {"wan_dit_tiny_nvfp4_sage8", {quant::LinearMode::nvfp4, quant::AttentionMode::sage8}}};
  for (const auto& [name, modes] : cases) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(auto gc, GoldenCase::load(test::golden_case(name)));
    EXPECT_EQ(gc.modes, modes);
    ASSERT_TRUE(gc.tolerance.has_value());
    ASSERT_OK_AND_ASSIGN(auto verifier, find_verifier(gc.component));
    ASSERT_OK_AND_ASSIGN(VerifyReport report, verifier(gc, VerifyOptions{}));
    EXPECT_TRUE(report.passed()) << report.first_failure();
    EXPECT_GE(report.checks().size(), 3u);  // block_0_out, block_1_out, sample
  }
}

// wan_dit_tiny in `modes`: the model, and its output's rel L2 against the exact output (printed).
struct ModeRun {
  WanTransformer3DModel model;
  double err = 0;
};
Expected<ModeRun> run_tiny(const quant::ModelOptions& modes) {
  FW_ASSIGN_OR_RETURN(auto gc, GoldenCase::load(test::golden_case("wan_dit_tiny")));
  FW_ASSIGN_OR_RETURN(Tensor latents, gc.tensor("hidden_states"));
  FW_ASSIGN_OR_RETURN(Tensor t, gc.tensor("timestep"));
  FW_ASSIGN_OR_RETURN(Tensor context, gc.tensor("encoder_hidden_states"));
  FW_ASSIGN_OR_RETURN(Tensor exact, gc.tensor("sample"));
  FW_ASSIGN_OR_RETURN(auto model, WanTransformer3DModel::load(gc.dir, modes));
  FW_ASSIGN_OR_RETURN(Tensor out, model.forward(latents, t.item_f32(0), context));
  const double err = ops::compare(out, exact).rel_l2;
  std::printf("wan_dit_tiny %s vs exact: rel L2 %.3e\n", modes.describe().c_str(), err);
  return ModeRun{std::move(model), err};
}

// The CPU oracle of the FP8 modes: every block linear's weight is its dequantized FP8 value (codes from the
// bf16 weight), every input is fake-quantized; the output moves by the FP8 error, no more.
TEST(WanDitGolden, Fp8FakeQuantizationMovesTheOutputByTheFp8ErrorOnly) {
  for (auto mode : {quant::LinearMode::fp8, quant::LinearMode::fp8_row}) {
    SCOPED_TRACE(std::string(quant::linear_mode_name(mode)));
    ASSERT_OK_AND_ASSIGN(ModeRun run, run_tiny({mode, quant::AttentionMode::bf16}));
    const auto& l = run.model.blocks()[1].attn1.to_q;
    EXPECT_EQ(l.mode, mode);
    EXPECT_EQ(l.weight.dtype(), DType::f32);  // the dequantized codes
    EXPECT_GT(run.err, 1e-4);
    EXPECT_LT(run.err, 6e-2);
  }
}

// The CPU oracles of the NVFP4 checkpoints' modes: NVFP4 linears (weights with their global scale,
// activations with 1.0) and FP4 self-attention, alone and together; the output moves by the FP4 error, no
// more.
TEST(WanDitGolden, Nvfp4AndFp4FakeQuantizationMoveTheOutputByTheFp4ErrorOnly) {
  using quant::AttentionMode, quant::LinearMode;
  for (const quant::ModelOptions modes : {quant::ModelOptions{LinearMode::nvfp4, AttentionMode::bf16},
                                          quant::ModelOptions{LinearMode::bf16, AttentionMode::fp4},
                                          quant::ModelOptions{LinearMode::nvfp4, AttentionMode::fp4}}) {
    SCOPED_TRACE(modes.describe());
    ASSERT_OK_AND_ASSIGN(ModeRun run, run_tiny(modes));
    EXPECT_EQ(run.model.blocks()[0].attn1.mode, modes.attention);
    EXPECT_EQ(run.model.blocks()[1].ffn.net_2.mode, modes.linear);
    EXPECT_GT(run.err, 1e-4);
    EXPECT_LT(run.err, 6e-2);
  }
}

// Golden cases in a precision mode (case.json "modes"): a mode this build does not know, or a component that
// has no modes, fails naming it instead of running exact.
TEST(WanDitGolden, UnknownModesInACaseFailNamingTheMode) {
  test::TempDir dir;
  for (const char* f : {"config.json", "diffusion_pytorch_model.safetensors", "io.safetensors"})
    std::filesystem::copy_file(test::golden_case("wan_dit_tiny") + "/" + f, dir.file(f));
  test::write_file(dir.file("case.json"), R"({"component": "wan_dit", "modes": {"linear": "int3"}})");
  auto bad = GoldenCase::load(dir.path().string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("linear mode 'int3' is not known to this build"), std::string::npos)
      << bad.error().message();
  test::write_file(dir.file("case.json"), R"({"component": "wan_dit", "modes": {"linear": "fp8"},
                                              "tolerance": {"metric": "rel_l2", "max": 0.5}})");
  ASSERT_OK_AND_ASSIGN(auto ok, GoldenCase::load(dir.path().string()));
  EXPECT_TRUE(ok.has_modes);
  EXPECT_EQ(ok.modes.linear, quant::LinearMode::fp8);
  ASSERT_TRUE(ok.tolerance.has_value());
  EXPECT_EQ(ok.tolerance->max, 0.5);
  // verify runs it in FP8 against the exact outputs: within a loose bound, and reports rel_l2.
  auto r = test::run_command(test::fastwan_bin() + " verify " + dir.path().string());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("wan_dit, linear fp8, attention bf16"), std::string::npos) << r.output;
  // The NVFP4 checkpoints' modes verify the same way.
  test::write_file(dir.file("case.json"),
                   R"({"component": "wan_dit", "modes": {"linear": "nvfp4", "attention": "fp4"},
                                              "tolerance": {"metric": "rel_l2", "max": 0.06}})");
  auto fp4 = test::run_command(test::fastwan_bin() + " verify " + dir.path().string());
  EXPECT_EQ(fp4.status, 0) << fp4.output;
  EXPECT_NE(fp4.output.find("wan_dit, linear nvfp4, attention fp4"), std::string::npos) << fp4.output;
  test::write_file(dir.file("case.json"), R"({"component": "wan_dit", "tolerance": {"metric": "max_abs"}})");
  EXPECT_FALSE(GoldenCase::load(dir.path().string()).ok());
  test::write_file(dir.file("case.json"), R"({"component": "taehv_decoder", "modes": {"linear": "fp8"}})");
  auto taehv = test::run_command(test::fastwan_bin() + " verify " + dir.path().string());
  EXPECT_NE(taehv.status, 0);
  EXPECT_NE(taehv.output.find("does not run in precision modes"), std::string::npos) << taehv.output;
}

TEST(WanDitGolden, ForwardRejectsInputsThatDoNotFit) {
  ASSERT_OK_AND_ASSIGN(auto model, WanTransformer3DModel::load(test::golden_case("wan_dit_tiny")));
  Tensor ctx = Tensor::zeros({1, 4, 64});
  auto odd = model.forward(Tensor::zeros({1, 16, 1, 5, 4}), 10.0f, ctx);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message().find("not a multiple of patch_size"), std::string::npos);
  auto channels = model.forward(Tensor::zeros({1, 8, 1, 4, 4}), 10.0f, ctx);
  ASSERT_FALSE(channels.ok());
  EXPECT_NE(channels.error().message().find("expected latents [1, 16, T, H, W]"), std::string::npos);
  auto text = model.forward(Tensor::zeros({1, 16, 1, 4, 4}), 10.0f, Tensor::zeros({1, 4, 32}));
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.error().message().find("text context [1, L, 64]"), std::string::npos);
}

TEST(WanDitGolden, SynthesizedTinyTransformerLoadsAndRuns) {
  test::TempDir dir;
  ASSERT_OK(synthesize_transformer(dir.path().string(), SynthPreset::tiny, 3));
  ASSERT_OK_AND_ASSIGN(auto model, WanTransformer3DModel::load(dir.file("transformer")));
  ASSERT_OK_AND_ASSIGN(Tensor out, model.forward(test::random_tensor({1, 16, 2, 4, 6}, 1), 500.0f,
                                                 test::random_tensor({1, 7, model.config().text_dim}, 2)));
  EXPECT_EQ(out.shape(), (Shape{1, 16, 2, 4, 6}));
  EXPECT_FALSE(ops::compare(out, out).has_nan);
}

TEST(WanDitGolden, ConfigAndWeightsThatDisagreeAreReported) {
  test::TempDir dir;
  ASSERT_OK(synthesize_transformer(dir.path().string(), SynthPreset::tiny, 3));
  auto config = WanDitConfig::tiny();
  config.ffn_dim = 96;
  ASSERT_OK_AND_ASSIGN(auto store, WeightStore::open(dir.file("transformer")));
  auto r = WanTransformer3DModel::load(config, store);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("blocks.0.ffn.net.0.proj.weight"), std::string::npos)
      << r.error().message();
  config = WanDitConfig::tiny();
  config.num_layers = 1;
  r = WanTransformer3DModel::load(config, store);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("more blocks than num_layers"), std::string::npos);
}

}  // namespace
}  // namespace fastwan
