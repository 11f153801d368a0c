// `fastwan generate` end to end on a synthesized tiny model, as users run it: every sampler and decoder to an
// MP4 read back with ffprobe, seeds, model families, FastWan-QAD overlays and Hugging Face ids, and one-line
// errors for every bad flag value and missing file, with nothing written.
#include <cmath>
#include <filesystem>
#include <regex>

#include "common/test_util.h"
#include "io/safetensors.h"
#include "io/weight_store.h"
#include "video/media_probe.h"

namespace fastwan {
namespace {

namespace fs = std::filesystem;
using test::fastwan_bin;
using test::run_command;

// A failure is one line; one found after planning follows the run's settings line.
void expect_one_line_error(const test::CommandResult& r, const std::string& expected) {
  EXPECT_EQ(r.status, 1) << r.output;
  std::string error = r.output;
  if (error.starts_with("settings: ")) error.erase(0, error.find('\n') + 1);
  EXPECT_EQ(error.rfind("error: ", 0), 0u) << r.output;
  EXPECT_EQ(error.find('\n'), error.size() - 1) << "one line expected: " << r.output;
  EXPECT_NE(error.find(expected), std::string::npos) << "expected '" << expected << "' in " << r.output;
}

size_t entries(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

class GenerateCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    auto s = run_command(fastwan_bin() + " synth --preset tiny --out " + model());
    ASSERT_EQ(s.status, 0) << s.output;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string model() { return dir_->file("m"); }
  // The tiny model as a download of `checkpoint` holds it: the same components, a model card naming it.
  static fs::path variant(const std::string& checkpoint) {
    const fs::path dir = dir_->path() / checkpoint;
    if (!fs::exists(dir)) {
      fs::create_directory(dir);
      for (const auto& e : fs::directory_iterator(model())) {
        if (e.path().filename() == "README.md") continue;
        if (e.is_directory())
          fs::create_directory_symlink(e.path(), dir / e.path().filename());
        else
          fs::create_symlink(e.path(), dir / e.path().filename());
      }
      test::write_file((dir / "README.md").string(), "# " + checkpoint + "\n");
    }
    return dir;
  }
  // A 9-frame 64x48 generation of `model_dir` (the tiny model unless given).
  static std::string generate(const std::string& args, const std::string& model_dir = model()) {
    return fastwan_bin() + " generate -p 'a curious raccoon' --model " + model_dir +
           " -W 64 -H 48 --frames 9 -s 1024 " + args;
  }
  static test::TempDir* dir_;
};
test::TempDir* GenerateCli::dir_ = nullptr;

TEST_F(GenerateCli, EverySamplerAndDecoderWritesAPlayableMp4) {
  if (!FASTWAN_TEST_MP4) GTEST_SKIP() << "built without libav: no MP4 module";
  test::TempDir out;
  for (const std::string sampler : {"dmd", "unipc", "euler"}) {
    for (const std::string decoder : {"taehv", "wan-vae"}) {
      SCOPED_TRACE(sampler + " + " + decoder);
      const std::string file = out.file(sampler + "_" + decoder + ".mp4");
      auto r = run_command(generate("--sampler " + sampler + " --decoder " + decoder + " -o " + file));
      ASSERT_EQ(r.status, 0) << r.output;
      // In a pipe: no progress, just the settings, the times and the result.
      EXPECT_TRUE(std::regex_search(
          r.output,
          std::regex("^settings: [^\n]+\ntime: text encoder load [0-9.]+ s, text [0-9.]+ s, "
                     "transformer load [0-9.]+ s, denoise [0-9.]+ s \\(.*\\), decoder load [0-9.]+ s, "
                     "decode\\+write [0-9.]+ s, total [0-9.]+ s \\([0-9.]+ s without "
                     "loading\\), peak host memory [0-9.]+ GB\nwrote [^\n]+\n$")))
          << r.output;
      EXPECT_EQ(r.last_line(), "wrote " + file + " (9 frames, 64x48, 16 fps)");
      ASSERT_OK_AND_ASSIGN(auto probe, test::probe_video(file));
      EXPECT_EQ(probe.codec, "h264");
      EXPECT_EQ(probe.frames, 9);
      EXPECT_EQ(probe.width, 64);
      EXPECT_EQ(probe.height, 48);
      EXPECT_EQ(probe.r_frame_rate, "16/1");
      EXPECT_EQ(probe.pix_fmt, "yuv420p");
    }
  }
  EXPECT_EQ(entries(out.path()), 6u);
  auto fps = run_command(generate("--sampler dmd --fps 24 -o " + out.file("fps.mp4")));
  ASSERT_EQ(fps.status, 0) << fps.output;
  ASSERT_OK_AND_ASSIGN(auto probe, test::probe_video(out.file("fps.mp4")));
  EXPECT_EQ(probe.r_frame_rate, "24/1");
  EXPECT_EQ(probe.frames, 9);
}

TEST_F(GenerateCli, TheSameSeedGivesTheSameFramesAnotherSeedOthers) {
  test::TempDir out;
  auto y4m = [&](const std::string& args, const std::string& name) {
    auto r = run_command(generate(args + " -o " + out.file(name)));
    EXPECT_EQ(r.status, 0) << r.output;
    return test::read_file(out.file(name));
  };
  for (const std::string rng : {"philox", "torch"}) {
    SCOPED_TRACE(rng);
    const std::string dmd = "--sampler dmd --decoder taehv --rng " + rng;
    const std::string a = y4m(dmd + " -s 5", rng + "_a.y4m");
    const std::string b = y4m(dmd + " -s 5", rng + "_b.y4m");
    const std::string c = y4m(dmd + " --seed 6", rng + "_c.y4m");
    ASSERT_GT(a.size(), 9u * 64 * 48);
    EXPECT_TRUE(a == b) << "same seed, different frames";
    EXPECT_FALSE(a == c) << "different seeds, same frames";
  }
  // The base model's default: UniPC with guidance (two DiT calls per step) and the Wan VAE.
  EXPECT_TRUE(y4m("--sampler unipc --decoder wan-vae --steps 3", "g1.y4m") ==
              y4m("--sampler unipc --decoder wan-vae --steps 3", "g2.y4m"));
}

TEST_F(GenerateCli, PrecisionModesFollowTheCheckpointAndFlagsOverrideThem) {
  test::TempDir out;  // 64x48, 5 frames: 24 tokens, so that the attention modes matter
  const fs::path fp8 = variant("FastWan-QAD-FP8-1.3B");
  // FastWan-QAD-FP8 runs as it was trained by default, FP8 linears and SageAttention2 (on the CPU as fake
  // quantization), and says so in -v.
  auto q = run_command(fastwan_bin() + " -v generate -p x --model " + fp8.string() + " --device cpu" +
                       " -W 64 -H 48 --frames 5 -s 5 -o " + out.file("fp8.y4m"));
  ASSERT_EQ(q.status, 0) << q.output;
  EXPECT_NE(q.output.find("modes: linear fp8, attention sage8 (as FastWan-QAD-FP8-1.3B was trained)"),
            std::string::npos)
      << q.output;
  auto base = run_command(fastwan_bin() + " -v generate -p x --model " + model() +
                          " -W 64 -H 48 --frames 5 -s 5 --steps 1 -o " + out.file("bf16.y4m"));
  ASSERT_EQ(base.status, 0) << base.output;
  EXPECT_NE(base.output.find("modes: linear bf16, attention bf16 (Wan2.1 runs in bf16)"), std::string::npos)
      << base.output;
  auto row =
      run_command(fastwan_bin() + " -v generate -p x --model " + fp8.string() +
                  " --device cpu --linear fp8-row -W 64 -H 48 --frames 5 -s 5 -o " + out.file("row.y4m"));
  ASSERT_EQ(row.status, 0) << row.output;
  EXPECT_NE(row.output.find("modes: linear fp8-row, attention sage8 (set on the command line)"),
            std::string::npos)
      << row.output;
  auto exact_attention = run_command(fastwan_bin() + " -v generate -p x --model " + fp8.string() +
                                     " --device cpu --attention bf16 -W 64 -H 48 --frames 5 -s 5 -o " +
                                     out.file("fp8_bf16.y4m"));
  ASSERT_EQ(exact_attention.status, 0) << exact_attention.output;
  EXPECT_NE(exact_attention.output.find("modes: linear fp8, attention bf16 (set on the command line)"),
            std::string::npos)
      << exact_attention.output;
  // The modes change the video (the same seed and prompt otherwise).
  EXPECT_NE(test::read_file(out.file("fp8_bf16.y4m")), test::read_file(out.file("fp8.y4m")));
  auto exact =
      run_command(fastwan_bin() + " generate -p x --model " + fp8.string() +
                  " --device cpu --linear bf16 -W 64 -H 48 --frames 5 -s 5 -o " + out.file("exact.y4m"));
  ASSERT_EQ(exact.status, 0) << exact.output;
  EXPECT_NE(test::read_file(out.file("exact.y4m")), test::read_file(out.file("fp8.y4m")));
  EXPECT_NE(test::read_file(out.file("row.y4m")), test::read_file(out.file("fp8.y4m")));
}

// `fastwan bench --e2e` runs the generate path itself: each stage's min and median over the runs, the total
// with and without loading, and the time the stages do not account for.
TEST_F(GenerateCli, BenchE2eTimesTheGeneratePathItself) {
  auto r = run_command(fastwan_bin() + " bench --e2e --model " + model() +
                       " --device cpu --sampler-free -W 32 -H 32 --frames 5 --runs 2");
  EXPECT_NE(r.status, 0);  // an unknown flag: CLI11's one-line error
  r = run_command(fastwan_bin() + " bench --e2e --model " + model() +
                  " --device cpu --linear fp8 -W 32 -H 32 --frames 5 --runs 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("end to end, 2 runs: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unipc, 50 steps"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("linear fp8, attention bf16"), std::string::npos) << r.output;
  for (const char* stage : {"text encoder load", "text ", "transformer load", "denoise", "decoder load",
                            "decode+write", "total ", "total without loading", "gaps (total - stages)",
                            "  before text encoder load", "  before denoise", "  after the last stage"})
    EXPECT_NE(r.output.find(std::string("\n") + stage), std::string::npos) << stage << " in " << r.output;
  EXPECT_NE(r.output.find("\nloading: warm"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("peak device memory"), std::string::npos) << r.output;  // the CPU has none
  // --cold: the model's files leave the page cache before each run, and the report says how much stayed.
  auto cold = run_command(fastwan_bin() + " bench --e2e --cold --model " + model() +
                          " --device cpu -W 32 -H 32 --frames 5 --runs 1");
  ASSERT_EQ(cold.status, 0) << cold.output;
  EXPECT_NE(cold.output.find("\nloading: cold (before each run the model's "), std::string::npos)
      << cold.output;
  EXPECT_NE(cold.output.find("stayed resident)"), std::string::npos) << cold.output;
  auto missing = run_command(fastwan_bin() + " bench --e2e --runs 1");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.output.find("bench --e2e: --model DIR is required"), std::string::npos) << missing.output;
  auto bad = run_command(fastwan_bin() + " bench --e2e --model " + model() + " --linear int4 --runs 1");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("--linear int4: unknown mode"), std::string::npos) << bad.output;
}

// The NVFP4 checkpoints run their own modes on the CPU: NVFP4 linears with FP4 attention
// (FastWan-QAD-1.3B) or SageAttention2 (-SA2), as fake quantization.
TEST_F(GenerateCli, Nvfp4CheckpointsRunTheirOwnModesOnTheCpu) {
  test::TempDir out;
  const fs::path fp4 = variant("FastWan-QAD-1.3B"), sa2 = variant("FastWan-QAD-1.3B-SA2");
  const std::string size = " --device cpu -W 16 -H 16 --frames 1 -s 5 -o ";
  auto def =
      run_command(fastwan_bin() + " -v generate -p x --model " + fp4.string() + size + out.file("a.y4m"));
  ASSERT_EQ(def.status, 0) << def.output;
  EXPECT_NE(def.output.find("modes: linear nvfp4, attention fp4 (as FastWan-QAD-1.3B was trained)"),
            std::string::npos)
      << def.output;
  auto flags = run_command(fastwan_bin() + " -v generate -p x --model " + fp4.string() +
                           " --linear nvfp4 --attention fp4" + size + out.file("b.y4m"));
  ASSERT_EQ(flags.status, 0) << flags.output;
  EXPECT_NE(flags.output.find("modes: linear nvfp4, attention fp4 (set on the command line)"),
            std::string::npos)
      << flags.output;
  EXPECT_EQ(test::read_file(out.file("a.y4m")), test::read_file(out.file("b.y4m")));
  auto s =
      run_command(fastwan_bin() + " -v generate -p x --model " + sa2.string() + size + out.file("c.y4m"));
  ASSERT_EQ(s.status, 0) << s.output;
  EXPECT_NE(s.output.find("modes: linear nvfp4, attention sage8 (as FastWan-QAD-1.3B-SA2 was trained)"),
            std::string::npos)
      << s.output;
  auto exact = run_command(fastwan_bin() + " generate -p x --model " + fp4.string() +
                           " --linear bf16 --attention bf16" + size + out.file("d.y4m"));
  ASSERT_EQ(exact.status, 0) << exact.output;
  for (const char* f : {"a.y4m", "c.y4m"})
    EXPECT_NE(test::read_file(out.file(f)), test::read_file(out.file("d.y4m")));
  EXPECT_NE(test::read_file(out.file("a.y4m")), test::read_file(out.file("c.y4m")));
}

TEST_F(GenerateCli, DefaultsFollowTheModelFamily) {
  test::TempDir out;
  // -v in a pipe: one line per step.
  auto base = run_command(fastwan_bin() + " -v generate -p x --model " + model() +
                          " -W 16 -H 16 --frames 1 --steps 2 -s 1024 -o " + out.file("base.y4m"));
  ASSERT_EQ(base.status, 0) << base.output;
  EXPECT_NE(base.output.find("device: cpu ("), std::string::npos) << base.output;
  EXPECT_NE(
      base.output.find("settings: wan2.1 (Wan2.1-T2V-1.3B: the model card README.md mentions "
                       "Wan2.1-T2V-1.3B), unipc, 2 steps, flow shift 3, guidance 5, seed 1024 (philox), "
                       "16x16, 1 frames at 16 fps, wan-vae decoder"),
      std::string::npos)
      << base.output;
  EXPECT_NE(base.output.find("denoise: step 2/2"), std::string::npos) << base.output;

  const fs::path qad = dir_->path() / "FastWan-QAD-tiny";
  if (!fs::exists(qad)) fs::create_directory_symlink(model(), qad);
  auto q = run_command(fastwan_bin() + " -v generate -p x --model " + qad.string() +
                       " -W 16 -H 16 --frames 1 -o " + out.file("qad.y4m"));
  ASSERT_EQ(q.status, 0) << q.output;
  // The folder's name says FastWan-QAD, its model card Wan2.1: the card wins, and the run says so.
  EXPECT_NE(
      q.output.find("warning: model FastWan-QAD-tiny: the model card README.md mentions Wan2.1-T2V-1.3B, "
                    "but the name FastWan-QAD-tiny mentions FastWan-QAD: using Wan2.1-T2V-1.3B defaults; "
                    "pass --family fastwan-qad or --family wan2.1"),
      std::string::npos)
      << q.output;
  fs::remove(qad / "README.md");
  auto named = run_command(fastwan_bin() + " generate -p x --model " + qad.string() +
                           " -W 16 -H 16 --frames 1 -s 1024 -o " + out.file("qad.y4m"));
  test::write_file((qad / "README.md").string(), "# Wan2.1-T2V-1.3B (synthetic)\n");
  ASSERT_EQ(named.status, 0) << named.output;
  EXPECT_NE(named.output.find("settings: fastwan-qad (FastWan-QAD: the name FastWan-QAD-tiny mentions "
                              "FastWan-QAD), dmd, 3 steps (timesteps 1000, 757, 522), flow shift 8, guidance "
                              "off, seed 1024 (philox), 16x16, 1 frames at 16 fps, taehv decoder"),
            std::string::npos)
      << named.output;
  // --family overrides the name; any default can be overridden by its flag.
  auto f =
      run_command(fastwan_bin() + " -v generate -p x --model " + model() +
                  " --family fastwan-qad -W 16 -H 16 --frames 1 --timesteps 999,500 --cfg-scale 2 -n blurry "
                  "--flow-shift 5 -o " +
                  out.file("f.y4m"));
  ASSERT_EQ(f.status, 0) << f.output;
  EXPECT_NE(
      f.output.find("settings: fastwan-qad (FastWan-QAD: --family fastwan-qad), dmd, 2 steps (timesteps "
                    "999, 500), flow shift 5, guidance 2,"),
      std::string::npos)
      << f.output;
  EXPECT_EQ(f.output.find("warning: model"), std::string::npos) << f.output;
  auto unused = run_command(generate("--sampler dmd --cfg-scale 1 -n blurry -o " + out.file("n.y4m")));
  ASSERT_EQ(unused.status, 0) << unused.output;
  EXPECT_NE(unused.output.find("warning: -n/--negative-prompt is not used: guidance is off"),
            std::string::npos)
      << unused.output;
}

TEST_F(GenerateCli, AFastWanQadOverlayNeedsItsBase) {
  test::TempDir work;
  const fs::path q = work.path() / "FastWan-QAD-overlay";
  fs::create_directories(q / "transformer");
  for (const char* f : {"config.json", "diffusion_pytorch_model.safetensors"})
    fs::copy_file(fs::path(model()) / "transformer" / f, q / "transformer" / f);
  fs::create_directories(work.path() / "out");
  auto alone = run_command(generate("-o " + work.file("out/a.mp4"), q.string()));
  expect_one_line_error(alone, "missing text_encoder/: searched " + (q / "text_encoder").string());
  EXPECT_NE(alone.output.find("--base Wan-AI/Wan2.1-T2V-1.3B-Diffusers"), std::string::npos);
  auto with_base = run_command(generate("--base " + model() + " -o " + work.file("out/a.y4m"), q.string()));
  ASSERT_EQ(with_base.status, 0) << with_base.output;
  EXPECT_TRUE(fs::exists(work.file("out/a.y4m")));
}

TEST_F(GenerateCli, AHuggingFaceIdIsFoundInTheCache) {
  test::TempDir hub;
  const fs::path repo = hub.path() / "models--Org--FastWan-QAD-tiny";
  fs::create_directories(repo / "snapshots");
  fs::create_directories(repo / "refs");
  test::write_file((repo / "refs" / "main").string(), "0123abcd");
  fs::create_directory_symlink(model(), repo / "snapshots" / "0123abcd");
  const std::string env = "HF_HUB_CACHE=" + hub.path().string() + " ";
  // -v after the subcommand works too.
  auto r = run_command(env + fastwan_bin() +
                       " generate -p x --model Org/FastWan-QAD-tiny -W 16 -H 16 --frames 1 -o " +
                       hub.file("out.y4m") + " -v");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("model: " + (repo / "snapshots" / "0123abcd").string() + "\n"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("the name Org/FastWan-QAD-tiny mentions FastWan-QAD"), std::string::npos)
      << r.output;
  expect_one_line_error(
      run_command(env + fastwan_bin() + " generate -p x --model Org/Other -o " + hub.file("o.y4m")),
      "--model: Org/Other: not in the Hugging Face cache (no folder " +
          (hub.path() / "models--Org--Other").string() + "); download it with `hf download Org/Other`");
}

// Several prompts: -p repeated, a prompts file, or lines on stdin; a numbered file each with its own times,
// the same seed for all.
TEST_F(GenerateCli, SeveralPromptsWriteANumberedVideoEach) {
  test::TempDir out;
  const std::string dmd =
      " --model " + model() + " -W 64 -H 48 --frames 9 -s 1024 --sampler dmd --decoder taehv -o ";
  auto listed = run_command(fastwan_bin() + " generate -p 'a curious raccoon' -p 'a red fox'" + dmd +
                            out.file("list.y4m"));
  ASSERT_EQ(listed.status, 0) << listed.output;
  EXPECT_TRUE(std::regex_search(listed.output,
                                std::regex("^settings: [^\n]+\nwrote " + out.file("list-1.y4m") +
                                           " \\(9 frames, 64x48, 16 fps; text encoder load [0-9.]+ s, "
                                           "text [0-9.]+ s, transformer load [0-9.]+ s, denoise [0-9.]+ s "
                                           "\\(steps [0-9., ]+ s\\), decoder load [0-9.]+ s, "
                                           "decode\\+write [0-9.]+ s\\)\n"
                                           "wrote " +
                                           out.file("list-2.y4m") +
                                           " \\(9 frames, 64x48, 16 fps; denoise [0-9.]+ s \\(steps "
                                           "[0-9., ]+ s\\), decode\\+write [0-9.]+ s\\)\n"
                                           "time: text encoder load [0-9.]+ s, text [0-9.]+ s, ")))
      << listed.output;
  // The first video is the single-prompt run's; the second prompt gives other frames.
  auto single = run_command(generate("--sampler dmd --decoder taehv -o " + out.file("single.y4m")));
  ASSERT_EQ(single.status, 0) << single.output;
  const std::string first = test::read_file(out.file("list-1.y4m"));
  EXPECT_TRUE(first == test::read_file(out.file("single.y4m")));
  EXPECT_FALSE(first == test::read_file(out.file("list-2.y4m")));

  test::write_file(out.file("prompts.txt"), "a curious raccoon\n\na red fox\n");
  auto file = run_command(fastwan_bin() + " generate --prompts-file " + out.file("prompts.txt") + dmd +
                          out.file("file.y4m"));
  ASSERT_EQ(file.status, 0) << file.output;
  EXPECT_TRUE(test::read_file(out.file("file-2.y4m")) == test::read_file(out.file("list-2.y4m")));

  for (const std::string keep : {"", " --keep-text-encoder"}) {
    auto piped = run_command("printf 'a curious raccoon\\na red fox\\n' | " + fastwan_bin() +
                             " generate --prompts-file -" + keep + dmd + out.file("piped.y4m"));
    ASSERT_EQ(piped.status, 0) << piped.output;
    // Without --keep-text-encoder the text encoder is loaded for each line (counted in the run's times).
    const std::string times = piped.output.substr(piped.output.find("\ntime: "));
    size_t loads = 0;
    for (size_t at = times.find("text encoder load"); at != std::string::npos;
         at = times.find("text encoder load", at + 1))
      ++loads;
    EXPECT_EQ(loads, keep.empty() ? 2u : 1u) << piped.output;
    EXPECT_TRUE(test::read_file(out.file("piped-2.y4m")) == test::read_file(out.file("list-2.y4m")));
  }
}

TEST_F(GenerateCli, EveryBadFlagValueIsAOneLineErrorAndWritesNothing) {
  test::TempDir out;
  const std::string y4m = " -o " + out.file("out.y4m");
  struct Case {
    std::string args, expected;
  };
  const std::vector<Case> cases = {
      {"--steps 0" + y4m, "--steps 0: expected at least 1"},
      {"--steps 20000" + y4m, "--sampler unipc: steps 20000 is out of range (expected 1..10000)"},
      {"--sampler ddim" + y4m, "--sampler: sampler 'ddim' is not known (expected dmd, unipc or euler)"},
      {"--decoder vae" + y4m, "--decoder: unknown decoder 'vae' (expected taehv or wan-vae)"},
      {"--rng mt" + y4m, "--rng: rng 'mt' is not known (expected philox or torch)"},
      {"--device tpu" + y4m, "--device: unknown device 'tpu' (expected cpu or cuda)"},
      {"--format webm" + y4m, "--format: unknown format 'webm' (expected mp4, png or y4m)"},
      {"--family sd" + y4m, "--family: unknown model family 'sd' (expected fastwan-qad or wan2.1)"},
      {"--linear int4" + y4m, "--linear int4: unknown mode (expected bf16, fp8, fp8-row or nvfp4)"},
      {"--attention sage9" + y4m, "--attention sage9: unknown mode (expected bf16, sage8 or fp4)"},
      {"--kernels ampere" + y4m, "--kernels ampere: unknown kernel set (expected auto, hopper or portable)"},
      {"--cfg-scale -2" + y4m, "--cfg-scale -2.000000: expected a finite value >= 0 (1 = off)"},
      {"--cfg-scale nan" + y4m, "--cfg-scale nan: expected a finite value >= 0"},
      {"--cfg-scale 5x" + y4m, "--cfg-scale 5x: expected a number"},
      {"--flow-shift 0" + y4m, "--flow-shift 0.000000: expected a finite value > 0"},
      {"--fps 0" + y4m, "--fps: expected 1 to 240, got 0"},
      {"--crf 52" + y4m, "--crf: expected 0 (lossless) to 51, got 52"},
      {"-s -2" + y4m, "-s/--seed -2: expected -1 (random) or an integer from 0 to 18446744073709551615"},
      {"-s 99999999999999999999999" + y4m, "-s/--seed 99999999999999999999999: expected -1 (random) or"},
      {"--sampler dmd --steps 4" + y4m, "--steps 4: the dmd sampler runs one step per timestep (3 now)"},
      {"--sampler dmd --timesteps 1000,abc" + y4m, "--timesteps 1000,abc: expected comma-separated integers"},
      {"--sampler dmd --timesteps 1001" + y4m,
       "--sampler dmd: dmd timestep 1001 is out of range (expected 0..1000)"},
      {"--sampler euler --timesteps 1000" + y4m,
       "--timesteps: only used with --sampler dmd (euler takes --steps)"},
      {"--decoder wan-vae --taehv " + model() + "/taew2_1.safetensors" + y4m,
       "--taehv: only used with --decoder taehv, not with --decoder wan-vae"},
      {"--decoder taehv --taehv " + out.file("none.safetensors") + y4m,
       "--taehv " + out.file("none.safetensors") + ": no such file"},
      {"-o " + out.file("out.webm"), "cannot tell the format"},
      {"-o " + out.file("out.mp4") + " --format y4m", "the extension says mp4 but --format is y4m"},
      {"-o /nonexistent/out.y4m", "-o /nonexistent/out.y4m: /nonexistent does not exist"},
      {"-o /proc/out.y4m", "folder /proc is not writable"},
      {"--base " + out.file("nobase") + y4m, "--base " + out.file("nobase") + ": no such folder"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    expect_one_line_error(run_command(generate(c.args)), c.expected);
  }
  const std::string bare = fastwan_bin() + " generate -p x --model " + model() + y4m;
  expect_one_line_error(run_command(bare + " -W 50"),
                        "-W/--width 50: expected a multiple of 16 from 16 to 16384");
  expect_one_line_error(run_command(bare + " -H 40"), "-H/--height 40: expected a multiple of 16");
  expect_one_line_error(run_command(bare + " --width 0"), "-W/--width 0: expected a multiple of 16");
  expect_one_line_error(run_command(bare + " --frames 8"),
                        "--frames 8: expected 4n+1 frames (1, 5, 9, ..., 81)");
  expect_one_line_error(run_command(bare + " --frames 0"), "--frames 0: expected 4n+1 frames");
  expect_one_line_error(run_command(bare + " --frames abc"), "--frames abc: expected an integer");
  // --device cuda names the flag whether or not this build has a CUDA backend.
  expect_one_line_error(run_command(generate("--device cuda" + y4m)), "--device cuda: ");
  expect_one_line_error(run_command(fastwan_bin() + " generate -p x --model " + out.file("none") + y4m),
                        "--model " + out.file("none") + ": no such folder");
  expect_one_line_error(run_command(fastwan_bin() + " generate --model " + model() + y4m),
                        "-p/--prompt: a prompt is required (or --prompts-file FILE, one per line)");
  expect_one_line_error(run_command(fastwan_bin() + " generate -p x -p y --model " + model() + " -o " +
                                    out.file("frames") + "/"),
                        "PNG frames take one prompt; for several give a file such as out.mp4");
  expect_one_line_error(run_command(fastwan_bin() + " generate --model " + model() + " --prompts-file " +
                                    out.file("none.txt") + y4m),
                        "--prompts-file " + out.file("none.txt") + ": cannot read it");
  expect_one_line_error(run_command("printf '\\n' | " + fastwan_bin() + " generate --model " + model() +
                                    " --prompts-file - -W 16 -H 16 --frames 1" + y4m),
                        "--prompts-file -: no prompts on stdin (expected one per line)");
  EXPECT_EQ(entries(out.path()), 0u) << "a failed run left a file behind";
}

// Rewrites a safetensors file with `edit` applied to its tensors (as f32 or their own dtype).
void rewrite(const std::string& path, const std::function<void(std::map<std::string, Tensor>&)>& edit) {
  std::map<std::string, Tensor> tensors;
  {
    auto store = WeightStore::open(path);
    ASSERT_TRUE(store.ok()) << store.error().message();
    for (const auto& name : store->names()) tensors[name] = store->get(name).value().clone();
  }
  edit(tensors);
  ASSERT_OK(write_safetensors(path + ".new", tensors));
  fs::rename(path + ".new", path);
}

TEST_F(GenerateCli, AMissingFileOrTensorIsNamedAndNothingIsWritten) {
  test::TempDir work;
  const fs::path m = work.path() / "m";
  fs::copy(model(), m, fs::copy_options::recursive);
  fs::create_directories(work.path() / "out");
  const std::string y4m = " -o " + work.file("out/out.y4m");
  auto run = [&](const std::string& args) { return run_command(generate(args + y4m, m.string())); };

  rewrite((m / "transformer" / "diffusion_pytorch_model.safetensors").string(),
          [](std::map<std::string, Tensor>& t) { t.erase("proj_out.weight"); });
  expect_one_line_error(run(""), "tensor 'proj_out.weight' not found in " + (m / "transformer").string());
  fs::remove(m / "transformer" / "diffusion_pytorch_model.safetensors");
  expect_one_line_error(run(""),
                        "transformer: " + (m / "transformer").string() + ": no .safetensors weights");

  fs::copy(fs::path(model()) / "transformer", m / "transformer",
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  // A decoder that fails after the file was opened: NaN weights make NaN frames.
  rewrite((m / "taew2_1.safetensors").string(), [](std::map<std::string, Tensor>& t) {
    Tensor& bias = t.at("decoder.22.bias");
    bias = Tensor::full(bias.shape(), NAN).to(bias.dtype());
  });
  expect_one_line_error(run("--decoder taehv"), "NaN");
  fs::remove(m / "taew2_1.safetensors");
  expect_one_line_error(run("--decoder taehv"),
                        "missing taew2_1.safetensors: searched " + (m / "taew2_1.safetensors").string());
  fs::remove(m / "vae" / "config.json");
  expect_one_line_error(run("--decoder wan-vae"), "missing " + (m / "vae" / "config.json").string());
  fs::remove(m / "tokenizer" / "spiece.model");
  expect_one_line_error(
      run(""), "missing tokenizer/spiece.model: searched " + (m / "tokenizer/spiece.model").string());
  fs::remove(m / "text_encoder" / "model-00001-of-00002.safetensors");
  expect_one_line_error(
      run(""), (m / "text_encoder" / "model-00001-of-00002.safetensors").string() + " does not exist");
  fs::remove_all(m / "text_encoder");
  expect_one_line_error(run(""), "missing text_encoder/: searched " + (m / "text_encoder").string());
  EXPECT_EQ(entries(work.path() / "out"), 0u) << "a failed run left a file behind";
}

}  // namespace
}  // namespace fastwan
