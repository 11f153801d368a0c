// Model folders: the Hugging Face cache layout, the FastWan-QAD overlay on a base folder, the files each run
// needs (with the paths searched when one is missing), and the model family's defaults.
#include <cstdlib>
#include <filesystem>

#include "common/test_util.h"
#include "io/hf_cache.h"
#include "models/convert.h"
#include "pipeline/model_defaults.h"
#include "pipeline/model_folder.h"
#include "synth/synth.h"

namespace fastwan {
namespace {

namespace fs = std::filesystem;

// HF_* variables (and HOME) cleared for the test and restored afterwards.
class HubEnv {
 public:
  HubEnv() {
    for (const char* n : kNames) {
      const char* v = std::getenv(n);
      saved_.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(n);
    }
  }
  ~HubEnv() {
    for (const auto& [n, v] : saved_) v ? ::setenv(n.c_str(), v->c_str(), 1) : ::unsetenv(n.c_str());
  }

 private:
  static constexpr const char* kNames[] = {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME",
                                           "XDG_CACHE_HOME", "HOME"};
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// A cache entry models--ORG--NAME with the given snapshots; refs/main names `main` when not empty.
fs::path make_cache_entry(const fs::path& hub, const std::string& org, const std::string& name,
                          const std::vector<std::string>& snapshots, const std::string& main) {
  const fs::path repo = hub / ("models--" + org + "--" + name);
  for (const auto& s : snapshots) fs::create_directories(repo / "snapshots" / s);
  if (!main.empty()) {
    fs::create_directories(repo / "refs");
    test::write_file((repo / "refs" / "main").string(), main);
  }
  return repo;
}

TEST(HfCache, HubFolderFollowsHuggingfaceHubsOrder) {
  HubEnv env;
  ::setenv("HOME", "/home/u", 1);
  const std::string home = "/home/u";
  EXPECT_EQ(hf_hub_cache_dir(), home + "/.cache/huggingface/hub");
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(hf_hub_cache_dir(), "/xdg/huggingface/hub");
  ::setenv("HF_HOME", "~/hf", 1);
  EXPECT_EQ(hf_hub_cache_dir(), home + "/hf/hub");
  ::setenv("HUGGINGFACE_HUB_CACHE", "/legacy", 1);
  EXPECT_EQ(hf_hub_cache_dir(), "/legacy");
  ::setenv("HF_HUB_CACHE", "/hub", 1);
  EXPECT_EQ(hf_hub_cache_dir(), "/hub");
}

TEST(HfCache, RepoIds) {
  for (const char* ok : {"Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "FastVideo/FastWan-QAD-FP8-1.3B", "a/b"})
    EXPECT_TRUE(is_hf_repo_id(ok)) << ok;
  for (const char* bad : {"", "name", "/abs/path", "a/b/c", "./x", "a/..", "a/b c", "a/"})
    EXPECT_FALSE(is_hf_repo_id(bad)) << bad;
}

TEST(HfCache, SnapshotOfRefsMainOrTheOnlyOne) {
  HubEnv env;
  test::TempDir dir;
  ::setenv("HF_HUB_CACHE", dir.path().c_str(), 1);
  const fs::path a = make_cache_entry(dir.path(), "Org", "A", {"c1", "c2"}, "c2\n");
  ASSERT_OK_AND_ASSIGN(std::string snap, hf_cached_snapshot("Org/A"));
  EXPECT_EQ(snap, (a / "snapshots" / "c2").string());
  EXPECT_EQ(hf_repo_id_of_snapshot(snap), "Org/A");
  EXPECT_EQ(hf_repo_id_of_snapshot(snap + "/"), "Org/A");
  EXPECT_EQ(hf_repo_id_of_snapshot(dir.path().string()), "");

  const fs::path b = make_cache_entry(dir.path(), "Org", "B", {"only"}, "");
  ASSERT_OK_AND_ASSIGN(std::string only, hf_cached_snapshot("Org/B"));
  EXPECT_EQ(only, (b / "snapshots" / "only").string());

  make_cache_entry(dir.path(), "Org", "C", {"x", "y"}, "");
  auto two = hf_cached_snapshot("Org/C");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message().find("no refs/main and 2 snapshots"), std::string::npos)
      << two.error().message();

  make_cache_entry(dir.path(), "Org", "D", {"x"}, "gone");
  auto stale = hf_cached_snapshot("Org/D");
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.error().message().find("names commit gone"), std::string::npos) << stale.error().message();

  auto missing = resolve_model_location("Org/Missing", "--model");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "--model: Org/Missing: not in the Hugging Face cache (no folder " +
                (dir.path() / "models--Org--Missing").string() +
                "); download it with `hf download Org/Missing`, or give a local folder instead");
}

TEST(HfCache, LocalFoldersComeFirst) {
  test::TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::string same, resolve_model_location(dir.path().string(), "--base"));
  EXPECT_EQ(same, dir.path().string());
  test::write_file(dir.file("f"), "x");
  auto file = resolve_model_location(dir.file("f"), "--base");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message().find("--base " + dir.file("f") + ": is a file"), std::string::npos);
  auto neither = resolve_model_location(dir.file("a/b/c"), "--model");
  ASSERT_FALSE(neither.ok());
  EXPECT_NE(neither.error().message().find("no such folder"), std::string::npos);
}

// A synthesized tiny Wan2.1 folder, and helpers to take it apart.
class ModelFolderTest : public testing::Test {
 protected:
  void SetUp() override {
    SynthOptions o;
    o.out_dir = dir_.file("wan");
    ASSERT_OK(synthesize_model(o));
  }
  std::string wan() const { return dir_.file("wan"); }
  // A FastWan-QAD-like repository: the transformer only.
  std::string overlay(bool with_config = true) const {
    const fs::path q = dir_.path() / "FastWan-QAD-tiny";
    fs::create_directories(q / "transformer");
    fs::copy_file(fs::path(wan()) / "transformer" / "diffusion_pytorch_model.safetensors",
                  q / "transformer" / "diffusion_pytorch_model.safetensors");
    if (with_config)
      fs::copy_file(fs::path(wan()) / "transformer" / "config.json", q / "transformer" / "config.json");
    return q.string();
  }
  Expected<ModelFolder> resolve(const std::string& model, const std::string& base, ComponentRequest r,
                                const NamedParts& parts = {}) const {
    FW_ASSIGN_OR_RETURN(ModelFolder f, locate_model_folder(model, base));
    FW_RETURN_IF_ERROR(find_components(f, r, parts));
    return f;
  }
  std::string error_of(const std::string& model, const std::string& base, ComponentRequest r,
                       const NamedParts& parts = {}) const {
    auto f = resolve(model, base, r, parts);
    return f.ok() ? std::string("(no error)") : f.error().message();
  }
  test::TempDir dir_;
};

TEST_F(ModelFolderTest, ADiffusersFolderHasEverything) {
  ASSERT_OK_AND_ASSIGN(ModelFolder f, resolve(wan(), "", {"", true, true}));
  EXPECT_EQ(f.evidence.name, "wan");
  EXPECT_EQ(f.evidence.pipeline_class, "WanPipeline");
  EXPECT_NE(f.evidence.model_card.find("# Wan2.1-T2V-1.3B (synthetic)"), std::string::npos);
  EXPECT_FALSE(f.evidence.overlay);
  ASSERT_TRUE(f.flow_shift.has_value());
  EXPECT_EQ(*f.flow_shift, 3.0);
  EXPECT_EQ(f.transformer, wan() + "/transformer");
  EXPECT_EQ(f.transformer_config, wan() + "/transformer/config.json");
  EXPECT_EQ(f.text_encoder, wan() + "/text_encoder");
  EXPECT_EQ(f.spiece_model, wan() + "/tokenizer/spiece.model");
  EXPECT_EQ(f.vae, wan() + "/vae");
  EXPECT_EQ(f.taehv, wan() + "/taew2_1.safetensors");
  EXPECT_EQ(f.dit.text_dim, f.text.d_model);
}

TEST_F(ModelFolderTest, ASingleTransformerFileTakesItsPartsFromFlags) {
  ASSERT_OK_AND_ASSIGN(auto dit, open_wan_dit(wan() + "/transformer"));
  ASSERT_OK_AND_ASSIGN(auto te, open_umt5(wan() + "/text_encoder"));
  ASSERT_OK_AND_ASSIGN(auto vae, open_wan_vae(wan() + "/vae"));
  const std::string file = dir_.file("dit.safetensors");
  ASSERT_OK(write_component_file(dit.store, Component::wan_dit,
                                 {true, kComfyDitPrefix, false, dit.config.to_json()}, file));
  ASSERT_OK(write_component_file(te.store, Component::umt5, {true, "", false, nullptr},
                                 dir_.file("t5.safetensors")));
  ASSERT_OK(write_component_file(vae.store, Component::wan_vae, {true, "", false, nullptr},
                                 dir_.file("vae.safetensors")));
  const NamedParts parts{dir_.file("t5.safetensors"), dir_.file("vae.safetensors"),
                         wan() + "/tokenizer/spiece.model"};
  ASSERT_OK_AND_ASSIGN(ModelFolder f, resolve(file, "", {"", true, false}, parts));
  EXPECT_TRUE(f.single_file);
  EXPECT_EQ(f.evidence.name, "dit");
  EXPECT_EQ(f.transformer, file);
  EXPECT_EQ(f.dit.to_json(), dit.config.to_json());
  EXPECT_EQ(f.text.to_json(), te.config.to_json());
  EXPECT_EQ(f.text_encoder, dir_.file("t5.safetensors"));
  EXPECT_EQ(f.vae, dir_.file("vae.safetensors"));
  EXPECT_EQ(f.spiece_model, wan() + "/tokenizer/spiece.model");
  EXPECT_FALSE(f.flow_shift.has_value());
  // With --base, what the flags do not name comes from the base folder.
  ASSERT_OK_AND_ASSIGN(ModelFolder g,
                       resolve(file, wan(), {"", true, false}, {"", "", wan() + "/tokenizer"}));
  EXPECT_EQ(g.text_encoder, wan() + "/text_encoder");
  EXPECT_EQ(g.vae, wan() + "/vae");
  EXPECT_EQ(g.spiece_model, wan() + "/tokenizer/spiece.model");
  ASSERT_TRUE(g.flow_shift.has_value());
  EXPECT_NE(
      error_of(file, "", {"", false, false}, {dir_.file("t5.safetensors"), "", ""})
          .find("missing tokenizer/spiece.model (expected the UMT5 sentencepiece model): --model is a single "
                "transformer file"),
      std::string::npos);
  EXPECT_NE(error_of(file, "", {"", false, false}, {dir_.file("t5.safetensors"), "", dir_.file("nothing")})
                .find("--tokenizer " + dir_.file("nothing") + ": no "),
            std::string::npos);
}

TEST_F(ModelFolderTest, AnOverlayTakesTheRestFromTheBase) {
  const std::string q = overlay(/*with_config=*/false);
  ASSERT_OK_AND_ASSIGN(ModelFolder f, resolve(q, wan(), {"", false, true}));
  EXPECT_EQ(f.evidence.name, "FastWan-QAD-tiny");
  EXPECT_TRUE(f.evidence.overlay);
  EXPECT_EQ(f.transformer, q + "/transformer");
  EXPECT_EQ(f.transformer_config, wan() + "/transformer/config.json");
  EXPECT_EQ(f.text_encoder, wan() + "/text_encoder");
  EXPECT_EQ(f.taehv, wan() + "/taew2_1.safetensors");
  EXPECT_EQ(f.vae, "");
  // --taehv wins over the folders.
  ASSERT_OK_AND_ASSIGN(ModelFolder g, resolve(q, wan(), {wan() + "/taew2_1.safetensors", false, true}));
  EXPECT_EQ(g.taehv, wan() + "/taew2_1.safetensors");
}

TEST_F(ModelFolderTest, MissingComponentsNameThePathsSearched) {
  const std::string q = overlay();
  EXPECT_EQ(error_of(q, "", {"", false, true}),
            "missing text_encoder/: searched " + q +
                "/text_encoder (expected the UMT5 text encoder: config.json and weights); a FastWan-QAD "
                "repository holds only the transformer: give the base model with --base "
                "Wan-AI/Wan2.1-T2V-1.3B-Diffusers or --base DIR");
  fs::remove_all(fs::path(wan()) / "vae");
  EXPECT_EQ(error_of(q, wan(), {"", true, false}),
            "missing vae/: searched " + q + "/vae and " + wan() +
                "/vae (expected the Wan VAE: config.json and weights)");
  fs::remove(fs::path(wan()) / "taew2_1.safetensors");
  EXPECT_NE(error_of(q, wan(), {"", false, true})
                .find("missing taew2_1.safetensors: searched " + q + "/taew2_1.safetensors and " + wan() +
                      "/taew2_1.safetensors (expected TAEHV for Wan 2.1); get it from"),
            std::string::npos);
  EXPECT_EQ(error_of(q, wan(), {dir_.file("none.safetensors"), false, true}),
            "--taehv " + dir_.file("none.safetensors") + ": no such file (expected taew2_1.safetensors)");
  fs::remove(fs::path(wan()) / "tokenizer" / "spiece.model");
  EXPECT_NE(error_of(wan(), "", {})
                .find("missing tokenizer/spiece.model: searched " + wan() + "/tokenizer/spiece.model"),
            std::string::npos);
  fs::remove(fs::path(wan()) / "text_encoder" / "config.json");
  EXPECT_EQ(error_of(wan(), "", {}),
            "missing " + wan() + "/text_encoder/config.json (expected the UMT5 text encoder's config)");
  fs::remove(fs::path(wan()) / "transformer" / "diffusion_pytorch_model.safetensors");
  EXPECT_EQ(error_of(wan(), "", {}),
            "transformer: " + wan() +
                "/transformer: no .safetensors weights (expected a *.safetensors file or "
                "an index)");
  fs::remove_all(fs::path(wan()) / "transformer");
  EXPECT_EQ(error_of(wan(), "", {}), "missing transformer/: searched " + wan() +
                                         "/transformer (expected the Wan DiT: config.json and weights)");
}

TEST_F(ModelFolderTest, ConfigsThatDoNotFitAreRefused) {
  test::write_file(wan() + "/model_index.json", R"({"_class_name": "StableDiffusionPipeline"})");
  EXPECT_NE(error_of(wan(), "", {}).find("_class_name is StableDiffusionPipeline, not a Wan pipeline"),
            std::string::npos);
  test::write_file(wan() + "/model_index.json", R"({"_class_name": "WanDMDPipeline"})");
  ASSERT_OK_AND_ASSIGN(ModelFolder f, locate_model_folder(wan(), ""));
  EXPECT_EQ(f.evidence.pipeline_class, "WanDMDPipeline");
  test::write_file(wan() + "/scheduler/scheduler_config.json", R"({"flow_shift": "three"})");
  EXPECT_NE(error_of(wan(), "", {}).find("scheduler_config.json"), std::string::npos);
  fs::remove(wan() + "/scheduler/scheduler_config.json");
  ASSERT_OK_AND_ASSIGN(ModelFolder g, resolve(wan(), "", {}));
  EXPECT_FALSE(g.flow_shift.has_value());

  WanDitConfig i2v = WanDitConfig::tiny();
  i2v.in_channels = 36;
  test::write_file(wan() + "/transformer/config.json", i2v.to_json().dump());
  EXPECT_NE(error_of(wan(), "", {}).find("in_channels 36 differs from out_channels 16: not a text-to-video"),
            std::string::npos);
  WanDitConfig wide = WanDitConfig::tiny();
  wide.text_dim = 4096;
  test::write_file(wan() + "/transformer/config.json", wide.to_json().dump());
  EXPECT_NE(error_of(wan(), "", {}).find("d_model 64 does not match text_dim 4096"), std::string::npos);
}

ModelEvidence named(const std::string& name, const std::string& card = "") {
  ModelEvidence e;
  e.name = name;
  e.model_card = card;
  return e;
}

TEST(ModelDefaults, FamilyAndVariantFromEveryPieceOfEvidence) {
  struct Case {
    ModelEvidence evidence;
    ModelVariant variant;
    std::string reason;
  };
  ModelEvidence dmd = named("student");
  dmd.pipeline_class = "WanDMDPipeline";
  ModelEvidence origin = named("x");
  origin.transformer_origin = "FastVideo/FastWan-QAD-1.3B-SA2";
  ModelEvidence overlay = named("student");
  overlay.overlay = true;
  const std::string fp8_card =
      "---\nbase_model: Wan-AI/Wan2.1-T2V-1.3B-Diffusers\n---\n# FastWan-QAD-FP8-1.3B\n";
  for (const Case& c : std::vector<Case>{
           {named("FastVideo/FastWan-QAD-FP8-1.3B"), ModelVariant::fastwan_qad_fp8,
            "the name FastVideo/FastWan-QAD-FP8-1.3B mentions FastWan-QAD-FP8-1.3B"},
           {named("fastwan-qad-1.3b-sa2"), ModelVariant::fastwan_qad_nvfp4_sa2, ""},
           {named("FastVideo/FastWan-QAD-1.3B"), ModelVariant::fastwan_qad_nvfp4, ""},
           // `hf download ... --local-dir fp8`: the model card names the student.
           {named("fp8", fp8_card), ModelVariant::fastwan_qad_fp8,
            "the model card README.md mentions FastWan-QAD-FP8-1.3B"},
           {dmd, ModelVariant::fastwan_qad, "model_index.json names WanDMDPipeline"},
           {origin, ModelVariant::fastwan_qad_nvfp4_sa2, ""},
           {overlay, ModelVariant::fastwan_qad, ""},
           {named("Wan-AI/Wan2.1-T2V-1.3B-Diffusers"), ModelVariant::wan21, ""},
           {named("base", "# Wan2.1\n"), ModelVariant::wan21, ""},
       }) {
    SCOPED_TRACE(c.evidence.name);
    const FamilyGuess g = detect_model_family(c.evidence);
    EXPECT_EQ(g.variant, c.variant);
    EXPECT_EQ(g.family, variant_family(c.variant));
    EXPECT_EQ(g.ambiguity, "");
    if (!c.reason.empty()) {
      EXPECT_EQ(g.reason, c.reason);
    }
  }
  // A generic FastWan-QAD name takes the student from weaker evidence.
  ModelEvidence generic = named("FastWan-QAD-tiny");
  generic.transformer_origin = "FastVideo/FastWan-QAD-FP8-1.3B";
  EXPECT_EQ(detect_model_family(generic).variant, ModelVariant::fastwan_qad_fp8);
}

TEST(ModelDefaults, MissingOrConflictingEvidenceIsAmbiguous) {
  const FamilyGuess none = detect_model_family(named("m"));
  EXPECT_EQ(none.family, ModelFamily::wan21);
  EXPECT_EQ(
      none.ambiguity,
      "model m: nothing tells its family (no model card README.md, no FastWan-QAD or Wan2.1 in its name, "
      "no WanDMDPipeline): using wan2.1 defaults; pass --family fastwan-qad or --family wan2.1");
  ModelEvidence conflict = named("Wan2.1-finetune");
  conflict.overlay = true;
  const FamilyGuess c = detect_model_family(conflict);
  EXPECT_EQ(c.family, ModelFamily::wan21);
  EXPECT_EQ(
      c.ambiguity,
      "model Wan2.1-finetune: the name Wan2.1-finetune mentions Wan2.1-T2V-1.3B, but a transformer-only "
      "folder over a base (how FastWan-QAD is published): using Wan2.1-T2V-1.3B defaults; pass --family "
      "fastwan-qad or --family wan2.1");
  const FamilyGuess students = detect_model_family(named("FastWan-QAD-1.3B-SA2", "# FastWan-QAD-FP8-1.3B"));
  EXPECT_EQ(students.variant, ModelVariant::fastwan_qad_fp8);
  EXPECT_NE(students.ambiguity.find("but the name FastWan-QAD-1.3B-SA2 mentions FastWan-QAD-1.3B-SA2"),
            std::string::npos)
      << students.ambiguity;
  // --family settles it and keeps a student the evidence names.
  const FamilyGuess chosen =
      choose_model_family(detect_model_family(named("FastWan-QAD-FP8-1.3B")), ModelFamily::fastwan_qad);
  EXPECT_EQ(chosen.variant, ModelVariant::fastwan_qad_fp8);
  EXPECT_EQ(chosen.reason, "--family fastwan-qad");
  EXPECT_EQ(choose_model_family(none, ModelFamily::fastwan_qad).variant, ModelVariant::fastwan_qad);
  EXPECT_EQ(choose_model_family(chosen, ModelFamily::wan21).variant, ModelVariant::wan21);
}

TEST(ModelDefaults, FamilyNames) {
  ASSERT_OK_AND_ASSIGN(ModelFamily f, parse_model_family("fastwan-qad"));
  EXPECT_EQ(model_family_name(f), "fastwan-qad");
  EXPECT_FALSE(parse_model_family("fastwan").ok());
}

// Each checkpoint's default modes are the ones it was trained with, as far as the device runs them.
TEST(ModelDefaults, ModesAsTrainedFallingBackToBf16WhereTheDeviceLacksThem) {
  using quant::AttentionMode, quant::LinearMode;
  const auto all = [](const quant::ModelOptions&) { return true; };
  // A device that lacks one mode (every mode runs on the CPU and on sm_90a): the defaults fall back from it.
  const auto no_fp4 = [](const quant::ModelOptions& o) { return o.attention != AttentionMode::fp4; };
  struct Case {
    ModelVariant variant;
    quant::ModelOptions cpu, gpu;
    std::string gpu_reason;
  };
  const std::vector<Case> cases = {
      {ModelVariant::fastwan_qad_fp8,
       {LinearMode::fp8, AttentionMode::sage8},
       {LinearMode::fp8, AttentionMode::sage8},
       "as FastWan-QAD-FP8-1.3B was trained"},
      {ModelVariant::fastwan_qad_nvfp4_sa2,
       {LinearMode::nvfp4, AttentionMode::sage8},
       {LinearMode::nvfp4, AttentionMode::sage8},
       "as FastWan-QAD-1.3B-SA2 was trained"},
      {ModelVariant::fastwan_qad_nvfp4,
       {LinearMode::nvfp4, AttentionMode::fp4},
       {LinearMode::nvfp4, AttentionMode::bf16},
       "FastWan-QAD-1.3B was trained with linear nvfp4, attention fp4; gpu-x cannot run attention fp4 "
       "yet (--device cpu can)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(model_variant_name(c.variant)));
    const ModesGuess on_cpu = default_model_options(c.variant, "cpu", all);
    EXPECT_EQ(on_cpu.options, c.cpu);
    EXPECT_EQ(on_cpu.reason.rfind("as FastWan-QAD", 0), 0u) << on_cpu.reason;
    const ModesGuess on_gpu = default_model_options(c.variant, "gpu-x", no_fp4);
    EXPECT_EQ(on_gpu.options, c.gpu);
    EXPECT_EQ(on_gpu.reason, c.gpu_reason);
  }
  const ModesGuess wan = default_model_options(ModelVariant::wan21, "cpu", all);
  EXPECT_EQ(wan.options, quant::ModelOptions{});
  EXPECT_EQ(wan.reason, "Wan2.1 runs in bf16");
  // A student the folder does not name runs exact, and says how to choose.
  const ModesGuess unknown = default_model_options(ModelVariant::fastwan_qad, "cpu", all);
  EXPECT_EQ(unknown.options, quant::ModelOptions{});
  EXPECT_NE(unknown.reason.find("give --linear and --attention"), std::string::npos);
}

TEST(ModelDefaults, SamplerSettingsPerFamily) {
  const FamilyDefaults qad = family_defaults(ModelFamily::fastwan_qad);
  EXPECT_EQ(qad.sampler, SamplerKind::dmd);
  EXPECT_EQ(qad.decoder, DecoderKind::taehv);
  EXPECT_EQ(qad.width, 832);
  EXPECT_EQ(qad.height, 480);
  EXPECT_EQ(qad.frames, 81);
  EXPECT_EQ(qad.fps, 16);
  const FamilyDefaults wan = family_defaults(ModelFamily::wan21);
  EXPECT_EQ(wan.sampler, SamplerKind::unipc);
  EXPECT_EQ(wan.decoder, DecoderKind::wan_vae);

  const SamplerConfig dmd = family_sampler_config(ModelFamily::fastwan_qad, SamplerKind::dmd, 3.0);
  EXPECT_EQ(dmd.dmd_timesteps, (std::vector<int64_t>{1000, 757, 522}));
  EXPECT_EQ(dmd.flow_shift, 8.0);  // the DMD table's shift, not the scheduler's
  EXPECT_EQ(dmd.cfg_scale, 1.0);
  const SamplerConfig qad_unipc =
      family_sampler_config(ModelFamily::fastwan_qad, SamplerKind::unipc, std::nullopt);
  EXPECT_EQ(qad_unipc.steps, 3);
  EXPECT_EQ(qad_unipc.flow_shift, 3.0);
  EXPECT_EQ(qad_unipc.cfg_scale, 1.0);
  const SamplerConfig base = family_sampler_config(ModelFamily::wan21, SamplerKind::euler, 5.0);
  EXPECT_EQ(base.kind, SamplerKind::euler);
  EXPECT_EQ(base.steps, 50);
  EXPECT_EQ(base.flow_shift, 5.0);
  EXPECT_EQ(base.cfg_scale, 5.0);
}

}  // namespace
}  // namespace fastwan
