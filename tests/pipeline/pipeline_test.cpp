// text_to_video over a recording fake backend: the order in which stages are loaded and released, guidance
// (two DiT calls per step, the negative prompt encoded), seeded noise; the device registry and the progress
// reporter.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/test_util.h"
#include "core/progress.h"
#include "pipeline/e2e_bench.h"
#include "pipeline/text_to_video.h"
#include "sampler/noise.h"

namespace fastwan {
namespace {

namespace fs = std::filesystem;
using Events = std::vector<std::string>;

class FakeText : public TextEncoderStage {
 public:
  explicit FakeText(Events& e) : e_(e) { e_.push_back("load text"); }
  ~FakeText() override { e_.push_back("release text"); }
  Expected<PromptEmbedding> encode(std::string_view prompt) override {
    e_.push_back("encode '" + std::string(prompt) + "'");
    PromptEmbedding p;
    p.embeds = Tensor::full({1, 512, 8}, prompt.empty() ? 0.0f : 1.0f);
    p.length = 1;
    p.prompt = prompt;
    return p;
  }

 private:
  Events& e_;
};

// v = x * (the prompt's first embedding value): guidance then gives s * x for the prompt "a" against "".
class FakeDenoiser : public Denoiser {
 public:
  explicit FakeDenoiser(Events& e) : e_(e) { e_.push_back("load dit"); }
  ~FakeDenoiser() override { e_.push_back("release dit"); }
  Expected<VelocityFn> velocity(const DenoiseRequest& r) override {
    e_.push_back("bind " + shape_string(r.latent_shape) + (r.negative ? " with negative" : ""));
    auto bind = [this](const PromptEmbedding* p) -> VelocityFn {
      if (!p) return nullptr;
      const float k = p->embeds.f32()[0];
      return [this, k](const Tensor& x, const SamplerStep& s) -> Expected<Tensor> {
        e_.push_back("dit step " + std::to_string(s.index) + " k " + std::to_string(static_cast<int>(k)));
        Tensor v = x.clone();
        for (int64_t i = 0; i < v.numel(); ++i) v.f32()[i] *= k;
        return v;
      };
    };
    const double s = r.cfg_scale;
    const VelocityFn pos = bind(r.positive), neg = bind(r.negative);
    return VelocityFn([pos, neg, s](const Tensor& x, const SamplerStep& step) -> Expected<Tensor> {
      FW_ASSIGN_OR_RETURN(Tensor v, pos(x, step));
      if (!neg) return v;
      FW_ASSIGN_OR_RETURN(Tensor u, neg(x, step));
      for (int64_t i = 0; i < v.numel(); ++i)
        v.f32()[i] = u.f32()[i] + static_cast<float>(s) * (v.f32()[i] - u.f32()[i]);
      return v;
    });
  }

 private:
  Events& e_;
};

// Emits 4T - 3 gray frames and keeps the latents it was given in `decoded`.
Tensor decoded;
class FakeDecoder : public VideoDecoder {
 public:
  explicit FakeDecoder(Events& e) : e_(e) { e_.push_back("load decoder"); }
  std::string name() const override { return "fake"; }
  int64_t latent_channels() const override { return 16; }
  int64_t spatial_scale() const override { return 8; }
  int64_t frames_for(int64_t t) const override { return 4 * t - 3; }
  Status decode(const Tensor& latents, const FrameCallback& emit) const override {
    e_.push_back("decode " + latents.describe());
    decoded = latents.clone();
    for (int64_t f = 0; f < frames_for(latents.dim(2)); ++f)
      FW_RETURN_IF_ERROR(emit(Tensor::full({3, latents.dim(3) * 8, latents.dim(4) * 8}, 0.5f)));
    return Status::Ok();
  }
  Status warm_up(const Shape& latent_shape) const override {
    e_.push_back("warm up " + shape_string(latent_shape));
    return Status::Ok();
  }

 private:
  Events& e_;
};

class WideDecoder : public FakeDecoder {
 public:
  using FakeDecoder::FakeDecoder;
  int64_t spatial_scale() const override { return 16; }
};

Backend fake_backend(Events& e) {
  Backend b;
  b.name = "fake";
  b.probe = []() -> Expected<std::string> { return std::string("Fake GPU"); };
  b.runs = [](const quant::ModelOptions&) { return true; };
  b.load_text_encoder = [&e](const ModelFolder&) -> Expected<std::unique_ptr<TextEncoderStage>> {
    return std::unique_ptr<TextEncoderStage>(new FakeText(e));
  };
  b.load_denoiser = [&e](const ModelFolder&,
                         const quant::ModelOptions&) -> Expected<std::unique_ptr<Denoiser>> {
    return std::unique_ptr<Denoiser>(new FakeDenoiser(e));
  };
  b.load_decoder = [&e](const ModelFolder&, DecoderKind) -> Expected<std::unique_ptr<VideoDecoder>> {
    return std::unique_ptr<VideoDecoder>(new FakeDecoder(e));
  };
  return b;
}

GeneratePlan fake_plan(const Backend& backend, const std::string& out, double cfg) {
  GeneratePlan p;
  p.prompts = {"a"};
  p.model.dit.in_channels = 16;
  p.width = 32;
  p.height = 16;
  p.frames = 5;
  p.sampler = wan_t2v_sampler_defaults();
  p.sampler.steps = 2;
  p.sampler.cfg_scale = cfg;
  p.output = check_video_output({out, std::nullopt, 16, 18, {}}).value();
  p.device = {Device::cuda, backend, "fake"};
  return p;
}

TEST(TextToVideo, StagesLoadOneAtATime) {
  test::TempDir dir;
  Events e;
  const GeneratePlan plan = fake_plan(fake_backend(e), dir.file("out.y4m"), 1.0);
  Progress progress(Progress::Mode::quiet);
  ASSERT_OK_AND_ASSIGN(std::vector<GenerateResult> results, text_to_video(plan, progress));
  ASSERT_EQ(results.size(), 1u);
  const GenerateResult& r = results[0];
  EXPECT_EQ(r.written, dir.file("out.y4m"));
  EXPECT_EQ(r.frames, 5);
  EXPECT_EQ(r.width, 32);
  EXPECT_EQ(r.height, 16);
  EXPECT_EQ(e, (Events{"load text", "encode 'a'", "release text", "load dit", "bind [1, 16, 2, 2, 4]",
                       "dit step 0 k 1", "dit step 1 k 1", "release dit", "load decoder",
                       "decode f32[1, 16, 2, 2, 4]"}));
  EXPECT_TRUE(fs::exists(dir.file("out.y4m")));
  std::vector<std::string> names;
  for (const auto& s : progress.stages()) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"text encoder load", "text", "transformer load", "denoise",
                                             "decoder load", "decode+write"}));
  EXPECT_EQ(progress.stages()[3].unit_seconds.size(), 2u);
}

// A backend that loads beside the loop: the decoder loads on another thread, bound to the caller's device,
// once the loop's first step is done, and is warmed up for the plan's latents; the run waits for it as the
// stage "decoder load", and the video is the same.
TEST(TextToVideo, TheDecoderLoadsBesideTheLoopWhereTheBackendAllows) {
  test::TempDir dir;
  Events e, decoder_events;  // the decoder's own: it is made on the loading thread
  Backend backend = fake_backend(e);
  backend.loads_beside_denoise = true;
  backend.current_device = [] { return 3; };
  int bound = -1;
  std::thread::id loaded_on;
  backend.use_device = [&bound](int index) {
    bound = index;
    return Status::Ok();
  };
  backend.load_decoder = [&](const ModelFolder&, DecoderKind) -> Expected<std::unique_ptr<VideoDecoder>> {
    loaded_on = std::this_thread::get_id();
    return std::unique_ptr<VideoDecoder>(new FakeDecoder(decoder_events));
  };
  const GeneratePlan plan = fake_plan(backend, dir.file("out.y4m"), 1.0);
  Progress progress(Progress::Mode::quiet);
  ASSERT_OK(text_to_video(plan, progress));
  EXPECT_NE(loaded_on, std::this_thread::get_id());
  EXPECT_EQ(bound, 3);
  EXPECT_EQ(e, (Events{"load text", "encode 'a'", "release text", "load dit", "bind [1, 16, 2, 2, 4]",
                       "dit step 0 k 1", "dit step 1 k 1", "release dit"}));
  EXPECT_EQ(decoder_events,
            (Events{"load decoder", "warm up [1, 16, 2, 2, 4]", "decode f32[1, 16, 2, 2, 4]"}));
  std::vector<std::string> names;
  for (const auto& s : progress.stages()) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"text encoder load", "text", "transformer load", "denoise",
                                             "decoder load", "decode+write"}));
  // A failed load is the run's error, as when the decoder loads in turn.
  backend.load_decoder = [](const ModelFolder&, DecoderKind) -> Expected<std::unique_ptr<VideoDecoder>> {
    return Error("taehv.pth: truncated");
  };
  Progress failed(Progress::Mode::quiet);
  auto r = text_to_video(fake_plan(backend, dir.file("out2.y4m"), 1.0), failed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "taehv.pth: truncated");
}

// bench --e2e's report: every stage's times over the runs, the gap before each stage and after the last, and
// the device's peak where the backend reports one.
TEST(E2eBench, ReportsStagesGapsAndThePeak) {
  test::TempDir dir;
  Events e;
  Backend backend = fake_backend(e);
  backend.peak_device_bytes = [] { return int64_t{5'250'000'000}; };
  ASSERT_OK_AND_ASSIGN(E2eReport report, run_e2e_bench(fake_plan(backend, dir.file("out.y4m"), 1.0), 2));
  ASSERT_EQ(report.peak_device_bytes, int64_t{5'250'000'000});
  const std::string table = report.table();
  EXPECT_NE(table.find("end to end, 2 runs: "), std::string::npos) << table;
  EXPECT_NE(table.find("\npeak device memory: 5.25 GB"), std::string::npos) << table;
  for (const char* row : {"\ndenoise ", "\ngaps (total - stages)", "\n  before text encoder load",
                          "\n  before decode+write", "\n  after the last stage"})
    EXPECT_NE(table.find(row), std::string::npos) << row << " in " << table;
  for (const E2eStage& s : report.stages) {
    EXPECT_EQ(s.seconds.size(), 2u) << s.name;
    EXPECT_GE(s.min(), 0.0) << s.name;
  }
  backend.peak_device_bytes = nullptr;  // the CPU's: no such line
  ASSERT_OK_AND_ASSIGN(E2eReport cpu, run_e2e_bench(fake_plan(backend, dir.file("out.y4m"), 1.0), 1));
  EXPECT_FALSE(cpu.peak_device_bytes.has_value());
  EXPECT_EQ(cpu.table().find("peak device memory"), std::string::npos);
}

TEST(TextToVideo, GuidanceEncodesTheNegativePromptAndCallsTheDitTwice) {
  test::TempDir dir;
  Events e;
  const GeneratePlan plan = fake_plan(fake_backend(e), dir.file("out.y4m"), 3.0);
  Progress progress(Progress::Mode::quiet);
  ASSERT_OK(text_to_video(plan, progress));
  EXPECT_EQ(
      e, (Events{"load text", "encode 'a'", "encode ''", "release text", "load dit",
                 "bind [1, 16, 2, 2, 4] with negative", "dit step 0 k 1", "dit step 0 k 0", "dit step 1 k 1",
                 "dit step 1 k 0", "release dit", "load decoder", "decode f32[1, 16, 2, 2, 4]"}));
}

// A long-lived caller (the server): the stages stay loaded after a run and the next run loads nothing; a
// plan in another precision mode reloads the DiT alone. The negative prompt is encoded per run.
TEST(TextToVideo, AModelCacheKeepsTheStagesForTheNextRun) {
  test::TempDir dir;
  Events e;
  const GeneratePlan plan = fake_plan(fake_backend(e), dir.file("out.y4m"), 3.0);
  ModelCache cache;
  Progress first(Progress::Mode::quiet);
  ASSERT_OK(text_to_video(plan, first, nullptr, &cache));
  EXPECT_EQ(std::count(e.begin(), e.end(), "release text"), 0);
  EXPECT_EQ(std::count(e.begin(), e.end(), "release dit"), 0);
  e.clear();
  Progress second(Progress::Mode::quiet);
  ASSERT_OK(text_to_video(plan, second, nullptr, &cache));
  EXPECT_EQ(e, (Events{"encode 'a'", "encode ''", "bind [1, 16, 2, 2, 4] with negative", "dit step 0 k 1",
                       "dit step 0 k 0", "dit step 1 k 1", "dit step 1 k 0", "decode f32[1, 16, 2, 2, 4]"}));
  std::vector<std::string> names;
  for (const auto& s : second.stages()) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"text", "denoise", "decode+write"}));
  e.clear();
  GeneratePlan fp8 = plan;
  fp8.modes.linear = quant::LinearMode::fp8;
  Progress third(Progress::Mode::quiet);
  ASSERT_OK(text_to_video(fp8, third, nullptr, &cache));
  EXPECT_EQ(std::count(e.begin(), e.end(), "release dit"), 1);
  EXPECT_EQ(std::count(e.begin(), e.end(), "load dit"), 1);
  EXPECT_EQ(std::count(e.begin(), e.end(), "load text"), 0);
}

// Hears every stage and step; asks to stop once `stage` has done `after` units.
class CancelAfter : public ProgressListener {
 public:
  CancelAfter(std::string stage, int64_t after) : stage_(std::move(stage)), after_(after) {}
  void update(const std::string& stage, int64_t done, int64_t total, double) override {
    heard.push_back(stage + " " + std::to_string(done) + "/" + std::to_string(total));
    if (stage == stage_ && done >= after_) cancel_ = true;
  }
  void finished(const std::string& stage, double) override { heard.push_back(stage + " done"); }
  bool cancelled() const override { return cancel_; }
  std::vector<std::string> heard;

 private:
  std::string stage_;
  int64_t after_;
  bool cancel_ = false;
};

TEST(TextToVideo, AListenerHearsEveryStepAndCancelsBeforeTheNext) {
  test::TempDir dir;
  Events e;
  const GeneratePlan plan = fake_plan(fake_backend(e), dir.file("out.y4m"), 1.0);
  CancelAfter all("none", 0);
  Progress progress(Progress::Mode::quiet);
  progress.set_listener(&all);
  ASSERT_OK(text_to_video(plan, progress));
  EXPECT_EQ(all.heard, (std::vector<std::string>{
                           "text encoder load 0/0", "text encoder load done", "text 0/0", "text done",
                           "transformer load 0/0", "transformer load done", "denoise 0/2", "denoise 1/2",
                           "denoise 2/2", "denoise done", "decoder load 0/0", "decoder load done",
                           "decode+write 0/5", "decode+write 1/5", "decode+write 2/5", "decode+write 3/5",
                           "decode+write 4/5", "decode+write 5/5", "decode+write done"}));
  e.clear();
  CancelAfter cancel("denoise", 1);
  Progress stopped(Progress::Mode::quiet);
  stopped.set_listener(&cancel);
  auto r = text_to_video(fake_plan(fake_backend(e), dir.file("cancelled.y4m"), 1.0), stopped);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().message().ends_with("cancelled")) << r.error().message();
  EXPECT_EQ(std::count(e.begin(), e.end(), "dit step 0 k 1"), 1);
  EXPECT_EQ(std::count(e.begin(), e.end(), "dit step 1 k 1"), 0);
  EXPECT_EQ(std::count(e.begin(), e.end(), "load decoder"), 0);
  EXPECT_FALSE(fs::exists(dir.file("cancelled.y4m")));
}

TEST(TextToVideo, TheSeedDecidesTheNoise) {
  test::TempDir dir;
  Events e;
  GeneratePlan plan = fake_plan(fake_backend(e), dir.file("out.y4m"), 1.0);
  Progress progress(Progress::Mode::quiet);
  auto run = [&](uint64_t seed) {
    plan.seed = seed;
    EXPECT_TRUE(text_to_video(plan, progress).ok());
    const float* p = decoded.f32();
    return std::vector<float>(p, p + decoded.numel());
  };
  const std::vector<float> a = run(7), b = run(7), c = run(8);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
}

// The run's noise is drawn before the loop (beside the text encoder) but in the order the loop used to draw
// it: the same latents, bit for bit, as one generator drawing the initial noise and then each re-noising as
// the dmd loop asks.
TEST(TextToVideo, NoiseDrawnUpFrontMatchesDrawingInTheLoop) {
  test::TempDir dir;
  Events e;
  GeneratePlan plan = fake_plan(fake_backend(e), dir.file("out.y4m"), 1.0);
  plan.sampler = fastwan_sampler_defaults();
  plan.noise_layout = NoiseLayout::btchw;
  plan.seed = 11;
  Progress progress(Progress::Mode::quiet);
  for (RngKind rng : {RngKind::philox, RngKind::torch}) {
    plan.rng = rng;
    ASSERT_TRUE(text_to_video(plan, progress).ok());
    auto generator = make_noise_generator(plan.rng, plan.seed);
    ASSERT_OK_AND_ASSIGN(Tensor noise,
                         draw_latent_noise(*generator, plan.latent_shape(), DType::f32, plan.noise_layout));
    // The fake DiT's velocity for the prompt "a" is x itself.
    VelocityFn model = [](const Tensor& x, const SamplerStep&) -> Expected<Tensor> { return x.clone(); };
    ASSERT_OK_AND_ASSIGN(
        Tensor expected,
        run_sampler(plan.sampler, noise, model, latent_noise_fn(*generator, DType::bf16, plan.noise_layout)));
    ASSERT_EQ(decoded.shape(), expected.shape());
    EXPECT_EQ(std::memcmp(decoded.raw(), expected.raw(), expected.nbytes()), 0);
  }
}

TEST(TextToVideo, ADecoderThatDisagreesIsRefusedBeforeTheFileIsCreated) {
  test::TempDir dir;
  Events e;
  Backend wide = fake_backend(e);
  wide.load_decoder = [&e](const ModelFolder&, DecoderKind) -> Expected<std::unique_ptr<VideoDecoder>> {
    return std::unique_ptr<VideoDecoder>(new WideDecoder(e));
  };
  const GeneratePlan plan = fake_plan(wide, dir.file("out.y4m"), 1.0);
  Progress progress(Progress::Mode::quiet);
  auto r = text_to_video(plan, progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "decoder fake does not turn latents f32[1, 16, 2, 2, 4] into 5 frames of 32x16");
  EXPECT_FALSE(fs::exists(dir.file("out.y4m")));
}

TEST(TextToVideo, ListedPromptsAreEncodedTogetherAndTheDitStaysForTheNext) {
  test::TempDir dir;
  Events e;
  GeneratePlan plan = fake_plan(fake_backend(e), dir.file("out.y4m"), 3.0);
  plan.prompts = {"a", "b"};
  Progress progress(Progress::Mode::quiet);
  std::vector<std::string> written;
  ASSERT_OK_AND_ASSIGN(
      std::vector<GenerateResult> results,
      text_to_video(plan, progress, [&](const GenerateResult& r) { written.push_back(r.written); }));
  EXPECT_EQ(written, (std::vector<std::string>{dir.file("out-1.y4m"), dir.file("out-2.y4m")}));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[1].written, dir.file("out-2.y4m"));
  const std::string bind = "bind [1, 16, 2, 2, 4] with negative";
  const Events steps = {"dit step 0 k 1", "dit step 0 k 0", "dit step 1 k 1", "dit step 1 k 0"};
  Events expected = {"load text", "encode 'a'", "encode ''", "encode 'b'", "release text", "load dit", bind};
  expected.insert(expected.end(), steps.begin(), steps.end());
  expected.insert(expected.end(), {"load decoder", "decode f32[1, 16, 2, 2, 4]", bind});
  expected.insert(expected.end(), steps.begin(), steps.end());
  expected.insert(expected.end(), {"release dit", "decode f32[1, 16, 2, 2, 4]"});
  EXPECT_EQ(e, expected);
  EXPECT_TRUE(fs::exists(dir.file("out-1.y4m")));
  EXPECT_TRUE(fs::exists(dir.file("out-2.y4m")));
  EXPECT_FALSE(fs::exists(dir.file("out.y4m")));
}

// Streamed prompts: each line loads the models in turn (the text encoder never beside the DiT), or with
// keep_text_encoder all stay loaded until the stream ends; blank lines are skipped.
TEST(TextToVideo, StreamedPromptsLoadTheModelsPerLineUnlessKept) {
  for (const bool keep : {false, true}) {
    SCOPED_TRACE(keep ? "kept" : "per line");
    test::TempDir dir;
    Events e;
    GeneratePlan plan = fake_plan(fake_backend(e), dir.file("out.y4m"), 1.0);
    std::istringstream lines("a\n\n  \r\nb c\r\n");
    plan.prompts = {};
    plan.prompt_stream = &lines;
    plan.keep_text_encoder = keep;
    Progress progress(Progress::Mode::quiet);
    ASSERT_OK_AND_ASSIGN(std::vector<GenerateResult> results, text_to_video(plan, progress));
    EXPECT_EQ(results.size(), 2u);
    const Events steps = {"bind [1, 16, 2, 2, 4]", "dit step 0 k 1", "dit step 1 k 1"};
    Events expected = {"load text", "encode 'a'"};
    if (!keep) expected.push_back("release text");
    expected.push_back("load dit");
    expected.insert(expected.end(), steps.begin(), steps.end());
    expected.insert(expected.end(), {"load decoder", "decode f32[1, 16, 2, 2, 4]"});
    if (!keep) {  // one model at a time: the DiT (and the decoder) go before the text encoder comes back
      expected.insert(expected.end(),
                      {"release dit", "load text", "encode 'b c'", "release text", "load dit"});
      expected.insert(expected.end(), steps.begin(), steps.end());
      expected.insert(expected.end(), {"load decoder", "decode f32[1, 16, 2, 2, 4]", "release dit"});
    } else {  // all three stay until the stream ends
      expected.push_back("encode 'b c'");
      expected.insert(expected.end(), steps.begin(), steps.end());
      expected.insert(expected.end(), {"decode f32[1, 16, 2, 2, 4]", "release dit", "release text"});
    }
    EXPECT_EQ(e, expected);
    EXPECT_TRUE(fs::exists(dir.file("out-2.y4m")));

    std::istringstream blank("\n\n");
    plan.prompt_stream = &blank;
    auto none = text_to_video(plan, progress);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().message(), "--prompts-file -: no prompts on stdin (expected one per line)");
  }
}

TEST(GeneratePlan, SeveralVideosAreNumberedBeforeTheExtension) {
  GeneratePlan plan;
  plan.output.options.path = "clips/out.mp4";
  plan.prompts = {"a"};
  EXPECT_EQ(plan.output_for(1).options.path, "clips/out.mp4");
  plan.prompts = {"a", "b"};
  EXPECT_EQ(plan.output_for(1).options.path, "clips/out-1.mp4");
  EXPECT_EQ(plan.output_for(12).options.path, "clips/out-12.mp4");
  plan.output.options.path = "video";
  EXPECT_EQ(plan.output_for(2).options.path, "video-2");
}

TEST(Devices, TheDefaultIsCudaOnlyWithABackendAndAGpu) {
  ASSERT_OK_AND_ASSIGN(DeviceChoice none, choose_device(std::nullopt));
  EXPECT_EQ(none.device, Device::cpu);
  EXPECT_NE(none.note.find("no CUDA backend in this build"), std::string::npos) << none.note;
  auto cuda = choose_device(Device::cuda);
  ASSERT_FALSE(cuda.ok());
  EXPECT_NE(cuda.error().message().find("--device cuda: this fastwan has no CUDA backend"),
            std::string::npos);

  Events e;
  Backend no_gpu = fake_backend(e);
  no_gpu.probe = []() -> Expected<std::string> { return Error("no CUDA device (driver: none)"); };
  register_backend(Device::cuda, no_gpu);
  ASSERT_OK_AND_ASSIGN(DeviceChoice fallback, choose_device(std::nullopt));
  EXPECT_EQ(fallback.device, Device::cpu);
  EXPECT_NE(fallback.note.find("no GPU: no CUDA device (driver: none)"), std::string::npos) << fallback.note;
  auto refused = choose_device(Device::cuda);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(), "--device cuda: no CUDA device (driver: none)");

  register_backend(Device::cuda, fake_backend(e));
  ASSERT_OK_AND_ASSIGN(DeviceChoice gpu, choose_device(std::nullopt));
  EXPECT_EQ(gpu.device, Device::cuda);
  EXPECT_EQ(gpu.note, "cuda (Fake GPU)");
  ASSERT_OK_AND_ASSIGN(DeviceChoice asked, choose_device(Device::cpu));
  EXPECT_EQ(asked.device, Device::cpu);
  EXPECT_EQ(asked.backend.name, "cpu");
}

// Progress output captured from a memory stream, with a clock the test advances.
struct Captured {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  double now = 100;
  ~Captured() {
    std::fclose(f);
    std::free(buf);
  }
  std::string text() {
    std::fflush(f);
    return std::string(buf, size);
  }
  Progress::Clock clock() {
    return [this] { return now; };
  }
};

void run_stages(Progress& p, Captured& c) {
  p.note("device: cpu");
  p.begin("text");
  c.now += 0.5;
  p.end();
  p.begin("denoise", 3);
  for (int i = 1; i <= 3; ++i) {
    c.now += 2;
    p.advance(i);
  }
  p.end();
}

TEST(Progress, LiveRedrawsOneLineWithStepTimesAndEta) {
  Captured c;
  Progress p(Progress::Mode::live, c.f, c.clock());
  run_stages(p, c);
  const std::string out = c.text();
  EXPECT_NE(out.find("\rdenoise: step 1/3, 2.00 s/step, ETA 4.0 s\033[K"), std::string::npos) << out;
  EXPECT_NE(out.find("\rdenoise: step 3/3, 2.00 s/step\033[K"), std::string::npos) << out;
  EXPECT_NE(out.find("\rdenoise: done in 6.00 s (3 steps, 2.00 s/step)\033[K\n"), std::string::npos) << out;
  EXPECT_EQ(p.summary(), "text 0.50 s, denoise 6.00 s (steps 2.00, 2.00, 2.00 s), total 6.50 s");
}

TEST(Progress, LinesInAPipeWithVerboseAndNothingWithout) {
  Captured lines;
  Progress p(Progress::Mode::lines, lines.f, lines.clock());
  run_stages(p, lines);
  EXPECT_EQ(
      lines.text(),
      "device: cpu\ntext: ...\ntext: done in 0.50 s\ndenoise: ...\ndenoise: step 1/3, 2.00 s/step, ETA 4.0 "
      "s\ndenoise: step 2/3, 2.00 s/step, ETA 2.0 s\ndenoise: step 3/3, 2.00 s/step\ndenoise: done in 6.00 s "
      "(3 steps, 2.00 s/step)\n");
  Captured quiet;
  Progress q(Progress::Mode::quiet, quiet.f, quiet.clock());
  run_stages(q, quiet);
  q.begin("decode+write", 9, "frame");
  q.abandon();
  EXPECT_EQ(quiet.text(), "");
  EXPECT_EQ(q.summary(), "text 0.50 s, denoise 6.00 s (steps 2.00, 2.00, 2.00 s), total 6.50 s");
}

// Each stage keeps when it began, so the time between stages can be put where it was spent.
TEST(Progress, StagesKeepTheirStart) {
  Captured c;
  c.now = 10;
  Progress p(Progress::Mode::quiet, c.f, c.clock());
  c.now += 0.25;
  run_stages(p, c);
  ASSERT_EQ(p.stages().size(), 2u);
  EXPECT_DOUBLE_EQ(p.stages()[0].start, 0.25);
  EXPECT_DOUBLE_EQ(p.stages()[1].start, 0.75);
  c.now += 1;
  p.begin("decode+write", 9, "frame");
  EXPECT_DOUBLE_EQ(p.stages()[2].start, 7.75);
}

TEST(Progress, ManyStepsAreSummarized) {
  Captured c;
  Progress p(Progress::Mode::quiet, c.f, c.clock());
  p.begin("denoise", 10);
  for (int i = 1; i <= 10; ++i) {
    c.now += i <= 5 ? 1 : 3;
    p.advance(i);
  }
  p.end();
  EXPECT_EQ(p.summary(), "denoise 20.00 s (10 steps, 2.00 s/step, min 1.00, max 3.00), total 20.00 s");
}

}  // namespace
}  // namespace fastwan
