// What a user of `fastwan generate` learns from a run and keeps from it: the family read from the folder's
// evidence (and a warning when it is unsure), the settings line in every output mode, --json, random seeds,
// -o - into a pipe, --save-latents for fastwan decode, and no partial file after Ctrl-C.
#include <nlohmann/json.hpp>
#include <regex>

#include "common/test_util.h"

namespace fastwan {
namespace {

namespace fs = std::filesystem;
using test::fastwan_bin;
using test::run_command;

class SettingsCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    for (const std::string family : {"wan2.1", "fastwan-qad"}) {
      auto s = run_command(fastwan_bin() + " synth --preset tiny --family " + family + " --out " +
                           dir_->file(family));
      ASSERT_EQ(s.status, 0) << s.output;
    }
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string model(const std::string& family) { return dir_->file(family); }
  // A 16x16, 1-frame run on `model_dir`; stdout and stderr together, as a pipe sees them.
  static test::CommandResult generate(const std::string& model_dir, const std::string& args) {
    return run_command(fastwan_bin() + " generate -p 'a curious raccoon' --model " + model_dir +
                       " -W 16 -H 16 --frames 1 " + args);
  }
  static size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
  static test::TempDir* dir_;
};
test::TempDir* SettingsCli::dir_ = nullptr;

TEST_F(SettingsCli, TheFastWanQadSynthRunsTheFastPathWithoutFlags) {
  test::TempDir out;
  auto r = generate(model("fastwan-qad"), "-o " + out.file("q.y4m"));
  ASSERT_EQ(r.status, 0) << r.output;
  // Printed once, in a pipe, with the reason.
  EXPECT_EQ(count(r.output, "settings: "), 1u) << r.output;
  EXPECT_NE(r.output.find("settings: fastwan-qad (FastWan-QAD-FP8-1.3B: the model card README.md mentions "
                          "FastWan-QAD-FP8-1.3B), dmd, 3 steps (timesteps 1000, 757, 522), flow shift 8, "
                          "guidance off, seed "),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("taehv decoder"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
}

TEST_F(SettingsCli, AHuggingFaceDownloadInAPlainFolderIsKnownByItsModelCard) {
  // `hf download FastVideo/FastWan-QAD-FP8-1.3B --local-dir fp8`: the name says nothing, the card does.
  test::TempDir work;
  const fs::path fp8 = work.path() / "fp8";
  fs::copy(model("fastwan-qad"), fp8, fs::copy_options::recursive);
  test::write_file((fp8 / "README.md").string(),
                   "---\nlicense: apache-2.0\nbase_model:\n- Wan-AI/Wan2.1-T2V-1.3B-Diffusers\n---\n"
                   "# FastVideo FastWan-QAD-FP8-1.3B\n");
  auto r = generate(fp8.string(), "-o " + work.file("a.y4m"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("settings: fastwan-qad (FastWan-QAD-FP8-1.3B: the model card README.md mentions "
                          "FastWan-QAD-FP8-1.3B), dmd"),
            std::string::npos)
      << r.output;
  // Without the card nothing tells: wan2.1 defaults, and one warning line naming --family, also in a pipe.
  fs::remove(fp8 / "README.md");
  auto bare = generate(fp8.string(), "--steps 1 -o " + work.file("b.y4m"));
  ASSERT_EQ(bare.status, 0) << bare.output;
  EXPECT_NE(bare.output.find("warning: model fp8: nothing tells its family (no model card README.md, no "
                             "FastWan-QAD or Wan2.1 in its name, no WanDMDPipeline): using wan2.1 defaults; "
                             "pass --family fastwan-qad or --family wan2.1\n"),
            std::string::npos)
      << bare.output;
  EXPECT_EQ(count(bare.output, "warning: model"), 1u) << bare.output;
  auto json = generate(fp8.string(), "--steps 1 -o " + work.file("b.y4m") + " --json " + work.file("b.json"));
  ASSERT_EQ(json.status, 0) << json.output;
  EXPECT_EQ(nlohmann::json::parse(test::read_file(work.file("b.json")))["settings"]["family_warning"]
                .get<std::string>()
                .rfind("model fp8: nothing tells its family", 0),
            0u);
  auto settled = generate(fp8.string(), "--family fastwan-qad -o " + work.file("c.y4m"));
  ASSERT_EQ(settled.status, 0) << settled.output;
  EXPECT_EQ(settled.output.find("warning"), std::string::npos) << settled.output;
  // A transformer-only folder over a base is how FastWan-QAD is published.
  const fs::path overlay = work.path() / "student";
  fs::create_directories(overlay);
  fs::copy(fp8 / "transformer", overlay / "transformer", fs::copy_options::recursive);
  auto over = generate(overlay.string(), "--base " + model("wan2.1") + " -o " + work.file("d.y4m"));
  ASSERT_EQ(over.status, 0) << over.output;
  EXPECT_NE(over.output.find("settings: fastwan-qad (FastWan-QAD: a transformer-only folder over a base"),
            std::string::npos)
      << over.output;
}

TEST_F(SettingsCli, JsonHasSettingsStagesMemoryAndOutputs) {
  test::TempDir out;
  auto r = generate(model("fastwan-qad"), "-s 7 -o " + out.file("v.y4m") + " --json " + out.file("run.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(test::read_file(out.file("run.json")));
  EXPECT_EQ(j["settings"]["family"], "fastwan-qad");
  EXPECT_EQ(j["settings"]["variant"], "FastWan-QAD-FP8-1.3B");
  EXPECT_EQ(j["settings"]["sampler"], "dmd");
  EXPECT_EQ(j["settings"]["steps"], 3);
  EXPECT_EQ(j["settings"]["seed"], 7);
  EXPECT_EQ(j["settings"]["decoder"], "taehv");
  EXPECT_EQ(j["settings"]["timesteps"], nlohmann::json({1000, 757, 522}));
  ASSERT_TRUE(j["stages"].is_array());
  bool denoise = false;
  for (const auto& s : j["stages"])
    if (s["name"] == "denoise") denoise = s["step_seconds"].size() == 3;
  EXPECT_TRUE(denoise) << j.dump();
  EXPECT_GT(j["peak_host_memory_bytes"].get<int64_t>(), 1 << 20);
  EXPECT_GT(j["total_seconds"].get<double>(), 0.0);
  ASSERT_EQ(j["outputs"].size(), 1u);
  EXPECT_EQ(j["outputs"][0]["file"], out.file("v.y4m"));
  EXPECT_EQ(j["outputs"][0]["prompt"], "a curious raccoon");
  // --json - puts only JSON on stdout.
  auto piped = run_command("(" + fastwan_bin() + " generate -p x --model " + model("fastwan-qad") +
                           " -W 16 -H 16 --frames 1 -o " + out.file("w.y4m") + " --json - 2>/dev/null)");
  ASSERT_EQ(piped.status, 0) << piped.output;
  EXPECT_EQ(nlohmann::json::parse(piped.output)["outputs"][0]["prompt"], "x");
}

TEST_F(SettingsCli, WithoutASeedARandomOneIsDrawnAndPrinted) {
  test::TempDir out;
  std::vector<std::string> seeds;
  for (const std::string name : {"a.y4m", "b.y4m"}) {
    auto r = generate(model("fastwan-qad"), "-o " + out.file(name));
    ASSERT_EQ(r.status, 0) << r.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.output, m, std::regex("seed ([0-9]+) \\(random, philox\\)"))) << r.output;
    seeds.push_back(m[1]);
  }
  EXPECT_NE(seeds[0], seeds[1]);
  EXPECT_NE(test::read_file(out.file("a.y4m")), test::read_file(out.file("b.y4m")));
  // The printed seed gives the same video again; -s -1 is the default spelled out.
  auto again = generate(model("fastwan-qad"), "-s " + seeds[0] + " -o " + out.file("c.y4m"));
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(test::read_file(out.file("a.y4m")), test::read_file(out.file("c.y4m")));
  auto minus_one = generate(model("fastwan-qad"), "-s 5 -s -1 -o " + out.file("d.y4m"));
  ASSERT_EQ(minus_one.status, 0) << minus_one.output;
  EXPECT_NE(minus_one.output.find("(random, philox)"), std::string::npos) << minus_one.output;
}

TEST_F(SettingsCli, SeveralVideosSayWhichAndHowLongTheRestTakes) {
  test::TempDir out;
  auto r = run_command(fastwan_bin() + " -v generate -p 'a red fox' -p 'a curious raccoon' --model " +
                       model("fastwan-qad") + " -W 16 -H 16 --frames 1 -o " + out.file("v.y4m"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\nvideo 1 of 2: a red fox\n"), std::string::npos) << r.output;
  EXPECT_TRUE(std::regex_search(r.output,
                                std::regex("\nvideo 2 of 2 \\(about [0-9]+ s left\\): a curious raccoon\n")))
      << r.output;
}

TEST_F(SettingsCli, DashOStreamsY4mIntoAPipe) {
  test::TempDir out;
  auto file = generate(model("fastwan-qad"), "-s 3 -o " + out.file("f.y4m"));
  ASSERT_EQ(file.status, 0) << file.output;
  auto piped = run_command(fastwan_bin() + " generate -p 'a curious raccoon' --model " +
                           model("fastwan-qad") + " -W 16 -H 16 --frames 1 -s 3 -o - 2>" +
                           out.file("err.txt") + " | cat > " + out.file("piped.y4m"));
  ASSERT_EQ(piped.status, 0) << piped.output;
  EXPECT_EQ(test::read_file(out.file("piped.y4m")), test::read_file(out.file("f.y4m")));
  EXPECT_NE(test::read_file(out.file("err.txt")).find("wrote stdout (1 frames, 16x16, 16 fps)"),
            std::string::npos);
  // Binary frames into a terminal are refused (script(1) gives the run a terminal as stdout).
  auto tty = run_command("script -qec \"" + fastwan_bin() + " generate -p x --model " + model("fastwan-qad") +
                         " -o -\" /dev/null");
  EXPECT_NE(tty.output.find("error: -o -: stdout is a terminal; pipe it into a program"), std::string::npos)
      << tty.output;
  auto mp4 = generate(model("fastwan-qad"), "-o - --format mp4");
  EXPECT_EQ(mp4.status, 1);
  EXPECT_NE(mp4.output.find("error: -o -: stdout takes Y4M only, not --format mp4"), std::string::npos)
      << mp4.output;
}

TEST_F(SettingsCli, SavedLatentsDecodeToTheSameVideo) {
  test::TempDir out;
  auto r = generate(model("fastwan-qad"),
                    "-s 3 -o " + out.file("g.y4m") + " --save-latents " + out.file("g.safetensors"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto d = run_command(fastwan_bin() + " decode --latents " + out.file("g.safetensors") + " --taehv " +
                       model("fastwan-qad") + "/taew2_1.safetensors -o " + out.file("d.y4m"));
  ASSERT_EQ(d.status, 0) << d.output;
  EXPECT_EQ(test::read_file(out.file("d.y4m")), test::read_file(out.file("g.y4m")));
}

TEST_F(SettingsCli, CtrlCLeavesNoPartialFile) {
  test::TempDir out;
  // Long enough to be interrupted while the video is written: the Wan VAE decodes 5 frames at 256x256.
  // Job control (set -m) so that the background job takes SIGINT as a terminal's Ctrl-C would deliver it.
  test::write_file(out.file("run.sh"),
                   "set -m\n" + fastwan_bin() + " generate -p x --model " + model("wan2.1") +
                       " -W 256 -H 256 --frames 5 --steps 1 --decoder wan-vae -o " + out.file("v.y4m") +
                       " >/dev/null 2>&1 &\npid=$!\nfor i in $(seq 600); do ls -a " + out.path().string() +
                       " | grep -q 'v.y4m.partial' && break; sleep 0.05; done\nkill -INT $pid\nwait $pid\n"
                       "echo status=$?\nrm " +
                       out.file("run.sh") + "\n");
  auto r = run_command("bash " + out.file("run.sh"));
  EXPECT_NE(r.output.find("status=130"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_empty(out.path())) << "a partial file was left behind";
}

TEST_F(SettingsCli, OutputsRememberHowTheyWereMadeAndRerun) {
  test::TempDir out;
  const std::string q = model("fastwan-qad");
  const std::string run = " --model " + q + " -W 16 -H 16 --frames 1 -s 9 -n 'blurry, static' -o ";
  std::vector<std::string> videos = {out.file("frames/frame_00000.png")};
  auto png = run_command(fastwan_bin() + " generate -p 'a red fox'" + run + out.file("frames/"));
  ASSERT_EQ(png.status, 0) << png.output;
  if (FASTWAN_TEST_MP4) {
    auto mp4 = run_command(fastwan_bin() + " generate -p 'a red fox'" + run + out.file("a.mp4"));
    ASSERT_EQ(mp4.status, 0) << mp4.output;
    videos.push_back(out.file("a.mp4"));
  }
  auto y4m = run_command(fastwan_bin() + " generate -p 'a red fox'" + run + out.file("a.y4m"));
  ASSERT_EQ(y4m.status, 0) << y4m.output;
  for (const std::string& video : videos) {
    SCOPED_TRACE(video);
    auto info = run_command(fastwan_bin() + " info " + video);
    ASSERT_EQ(info.status, 0) << info.output;
    EXPECT_NE(info.output.find("\nprompt: a red fox\n"), std::string::npos) << info.output;
    EXPECT_NE(info.output.find("\nnegative_prompt: blurry, static\n"), std::string::npos) << info.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(info.output, m, std::regex("\nfastwan: (\\{[^\n]+)\n"))) << info.output;
    const auto settings = nlohmann::json::parse(m[1].str());
    EXPECT_EQ(settings["seed"], 9);
    EXPECT_EQ(settings["sampler"], "dmd");
    EXPECT_EQ(settings["prompt"], "a red fox");
    EXPECT_EQ(settings["software"].get<std::string>().rfind("fastwan ", 0), 0u);
    EXPECT_EQ(info.last_line(), "rerun: fastwan generate --from " + video);
    // The rerun makes the same video; a flag given wins over the kept setting.
    auto rerun = run_command(fastwan_bin() + " generate --from " + video + " -o " + out.file("re.y4m"));
    ASSERT_EQ(rerun.status, 0) << rerun.output;
    EXPECT_EQ(test::read_file(out.file("re.y4m")), test::read_file(out.file("a.y4m")));
    auto other = run_command(fastwan_bin() + " generate --from " + video + " -s 10 -o " + out.file("re.y4m"));
    ASSERT_EQ(other.status, 0) << other.output;
    EXPECT_NE(other.output.find("seed 10 (philox)"), std::string::npos) << other.output;
  }
  auto none =
      run_command(fastwan_bin() + " generate --from " + out.file("a.y4m") + " -o " + out.file("x.y4m"));
  EXPECT_EQ(none.status, 1);
  EXPECT_EQ(none.output, "error: --from " + out.file("a.y4m") +
                             ": no fastwan settings in its metadata (was it written by fastwan generate?)\n");
}

TEST_F(SettingsCli, InfoSaysWhatGenerateWouldUseAndWhatAFileIs) {
  auto folder = run_command(fastwan_bin() + " info " + model("fastwan-qad"));
  ASSERT_EQ(folder.status, 0) << folder.output;
  EXPECT_NE(
      folder.output.find("\nfamily: fastwan-qad (FastWan-QAD-FP8-1.3B: the model card README.md mentions "
                         "FastWan-QAD-FP8-1.3B)\ngenerate defaults: dmd, 3 steps, guidance off, 832x480, "
                         "81 frames at 16 fps, taehv decoder\ntaehv: " +
                         model("fastwan-qad") + "/taew2_1.safetensors\ndevice: "),
      std::string::npos)
      << folder.output;
  // A Hugging Face id in the cache.
  test::TempDir hub;
  const fs::path repo = hub.path() / "models--Wan-AI--Wan2.1-T2V-1.3B-Diffusers";
  fs::create_directories(repo / "snapshots");
  fs::create_directory_symlink(model("wan2.1"), repo / "snapshots" / "abc");
  auto id = run_command("HF_HUB_CACHE=" + hub.path().string() + " " + fastwan_bin() +
                        " info Wan-AI/Wan2.1-T2V-1.3B-Diffusers");
  ASSERT_EQ(id.status, 0) << id.output;
  EXPECT_EQ(id.output.rfind("hugging face id: Wan-AI/Wan2.1-T2V-1.3B-Diffusers (cache snapshot ", 0), 0u)
      << id.output;
  EXPECT_NE(id.output.find("generate defaults: unipc, 50 steps, guidance 5, 832x480"), std::string::npos)
      << id.output;
  // A FastWan-QAD-style download: a transformer and a model card, nothing else.
  const fs::path student = hub.path() / "student";
  fs::create_directories(student);
  fs::copy(fs::path(model("fastwan-qad")) / "transformer", student / "transformer",
           fs::copy_options::recursive);
  fs::copy_file(fs::path(model("fastwan-qad")) / "README.md", student / "README.md");
  auto overlay = run_command(fastwan_bin() + " info " + student.string());
  ASSERT_EQ(overlay.status, 0) << overlay.output;
  EXPECT_EQ(overlay.output.rfind("layout: a transformer without the other components (run it over a base", 0),
            0u)
      << overlay.output;
  EXPECT_NE(overlay.output.find("\nfamily: fastwan-qad (FastWan-QAD-FP8-1.3B: "), std::string::npos)
      << overlay.output;
  // Files fastwan does not load, told by their first bytes (a GGUF file is read: formats_cli_test).
  test::write_file(hub.file("taew2_1.pth"), std::string("PK\x03\x04", 4) + std::string(32, '\0'));
  auto pth = run_command(fastwan_bin() + " info " + hub.file("taew2_1.pth"));
  EXPECT_EQ(pth.status, 0) << pth.output;
  EXPECT_NE(pth.output.find("format: PyTorch pickle checkpoint (torch.save, zip archive)"), std::string::npos)
      << pth.output;
}

}  // namespace
}  // namespace fastwan
