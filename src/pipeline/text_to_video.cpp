#include "pipeline/text_to_video.h"

#include <cstring>
#include <future>
#include <map>

#include "io/safetensors.h"

namespace fastwan {
namespace {

struct Prompts {
  PromptEmbedding positive;
  std::optional<PromptEmbedding> negative;  // only with guidance
};

// Stops a run between stages and steps when the progress listener asks.
Status check_cancelled(const Progress& progress) {
  if (progress.cancelled()) return Error("cancelled");
  return Status::Ok();
}

// The prompts in order: the plan's list at once, then a stream's lines one by one as they arrive.
class PromptQueue {
 public:
  explicit PromptQueue(const GeneratePlan& plan) : plan_(plan) {}
  // The prompts to be had now; empty at the end.
  std::vector<std::string> next() {
    if (!listed_) {
      listed_ = true;
      if (!plan_.prompts.empty()) return plan_.prompts;
    }
    if (!plan_.prompt_stream) return {};
    if (auto prompt = next_streamed_prompt(*plan_.prompt_stream)) return {*prompt};
    return {};
  }
  // No prompt can come after those handed out (a stream's end is only known when reading past it).
  bool finished() const { return listed_ && !plan_.prompt_stream; }

 private:
  const GeneratePlan& plan_;
  bool listed_ = false;
};

// Loading and encoding are timed apart (loading reads gigabytes from disk; encoding is what a cached model
// costs).
Expected<std::vector<Prompts>> encode_prompts(const GeneratePlan& plan, LoadedStages& models,
                                              const std::vector<std::string>& texts, Progress& progress) {
  FW_RETURN_IF_ERROR(check_cancelled(progress));
  // Never beside the DiT unless asked: a streamed line loads the models in turn, as a single prompt does.
  if (!models.text && !plan.keep_text_encoder && !models.resident) {
    models.dit.reset();
    models.decoder.reset();
  }
  FW_RETURN_IF_ERROR(load_text_encoder(plan, models, progress));
  FW_RETURN_IF_ERROR(check_cancelled(progress));
  progress.begin("text");
  std::vector<Prompts> out(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    FW_ASSIGN_OR_RETURN(out[i].positive, models.text->encode(texts[i]));
    if (plan.sampler.cfg_scale == 1.0) continue;
    if (!models.negative) {
      auto negative = models.text->encode(plan.negative_prompt);
      if (!negative) return negative.error().with_context("negative prompt");
      models.negative = std::move(*negative);
    }
    out[i].negative = models.negative;
  }
  progress.end();
  return out;
}

// A run's noise, drawn on the host before it is needed: every video of a run has the same seed, so one set
// serves them all. draws[0] is the initial latents (f32 [1, C, T, H, W]), draws[k] for k >= 1 dmd's k-th
// re-noising; one tensor, so that a device loop uploads it with one copy.
struct RunNoise {
  Tensor draws;  // [1 + re-noisings, 1, C, T, H, W] f32, host
};

// One generator for the run: the initial latents, then (dmd) every re-noising continues its stream, in the
// order the loop would draw them, so the values are the same as drawing inside the loop. The initial draw is
// float32 like the text embeddings; FastVideo's DMD re-noises in bf16 (reference §2.2-2.3).
Expected<RunNoise> draw_run_noise(const GeneratePlan& plan) {
  const Shape shape = plan.latent_shape();
  auto rng = make_noise_generator(plan.rng, plan.seed);
  FW_ASSIGN_OR_RETURN(Tensor initial, draw_latent_noise(*rng, shape, DType::f32, plan.noise_layout));
  FW_ASSIGN_OR_RETURN(SamplerSchedule schedule, make_schedule(plan.sampler));
  const int renoisings = plan.sampler.kind == SamplerKind::dmd ? schedule.steps() - 1 : 0;
  Shape all = shape;
  all.insert(all.begin(), 1 + renoisings);
  RunNoise out{Tensor::empty(all, DType::f32)};
  const size_t bytes = initial.nbytes();
  std::memcpy(out.draws.raw(), initial.raw(), bytes);
  const NoiseFn renoise = latent_noise_fn(*rng, DType::bf16, plan.noise_layout);
  for (int k = 1; k <= renoisings; ++k) {
    FW_ASSIGN_OR_RETURN(Tensor fresh, renoise(shape));
    std::memcpy(static_cast<char*>(out.draws.raw()) + k * bytes, fresh.contiguous().raw(), bytes);
  }
  return out;
}

// The latents stay on the DiT's device for the whole loop where the loop's arithmetic can run there: dmd
// and euler without guidance (sampler_ops.h). UniPC's multistep arithmetic and guidance's combination are
// host code, so those loops keep today's path: host latents, copied to the device and back every step.
bool loop_on_device(const GeneratePlan& plan, const Denoiser& dit) {
  return dit.latent_device() != Device::cpu && plan.sampler.kind != SamplerKind::unipc &&
         plan.sampler.cfg_scale == 1.0;
}

// Starts `decoder_loading` once the loop's first step is done where the backend loads the decoder beside
// the loop: not sooner, because its CUDA calls would contend with the DiT's set-up and the capture of its
// graph (measured on an H100: 20-35 ms more before the loop); the decode waits for it.
Expected<Tensor> denoise(const GeneratePlan& plan, LoadedStages& models, const Prompts& prompts,
                         const std::shared_future<Expected<RunNoise>>& drawing,
                         DecoderLoading& decoder_loading, Progress& progress) {
  FW_RETURN_IF_ERROR(check_cancelled(progress));
  FW_RETURN_IF_ERROR(load_denoiser(plan, models, progress));

  const Shape shape = plan.latent_shape();
  DenoiseRequest request;
  request.positive = &prompts.positive;
  request.negative = prompts.negative ? &*prompts.negative : nullptr;
  request.cfg_scale = plan.sampler.cfg_scale;
  request.latent_shape = shape;
  FW_ASSIGN_OR_RETURN(VelocityFn velocity, models.dit->velocity(request));
  VelocityFn reported = [&](const Tensor& x, const SamplerStep& step) -> Expected<Tensor> {
    FW_RETURN_IF_ERROR(check_cancelled(progress));
    auto v = velocity(x, step);
    if (!v) return v;
    progress.advance(step.index + 1);
    if (step.index == 0 && !decoder_loading.valid()) decoder_loading = start_decoder_load(plan, models);
    return v;
  };

  const Expected<RunNoise>& noise = drawing.get();  // drawn while the text encoder and the DiT loaded
  if (!noise) return noise.error();
  // The draws go to the device in one copy when the loop runs there; the loop then takes the device views.
  const Tensor draws =
      loop_on_device(plan, *models.dit) ? noise->draws.copy_to(models.dit->latent_device()) : noise->draws;
  int64_t next = 1;
  const NoiseFn renoise = [&](const Shape& s) -> Expected<Tensor> {
    if (next >= draws.dim(0))
      return Error("no re-noising draw left (drawn for " + std::to_string(draws.dim(0) - 1) + ")");
    if (s != shape)
      return Error("re-noising drawn for latents " + shape_string(shape) + ", asked for " + shape_string(s));
    return draws.select(0, next++);
  };
  FW_ASSIGN_OR_RETURN(SamplerSchedule schedule, make_schedule(plan.sampler));
  progress.begin("denoise", schedule.steps());
  auto latents = run_sampler(plan.sampler, draws.select(0, 0), reported, renoise);
  progress.end();
  return latents;
}

Expected<GenerateResult> decode(const GeneratePlan& plan, LoadedStages& models, const Tensor& latents,
                                const VideoOutput& output, Progress& progress, DecoderLoading& loading) {
  FW_RETURN_IF_ERROR(check_cancelled(progress));
  FW_RETURN_IF_ERROR(load_decoder(plan, models, progress, &loading));
  FW_RETURN_IF_ERROR(check_cancelled(progress));
  const VideoDecoder* decoder = models.decoder.get();
  // The latent shape was planned with Wan's 4x/8x compression; a decoder that disagrees is refused before
  // the output file is created.
  if (decoder->latent_channels() != latents.dim(1) || decoder->frames_for(latents.dim(2)) != plan.frames ||
      decoder->spatial_scale() * latents.dim(3) != plan.height ||
      decoder->spatial_scale() * latents.dim(4) != plan.width)
    return Error("decoder " + decoder->name() + " does not turn latents " + latents.describe() + " into " +
                 std::to_string(plan.frames) + " frames of " + std::to_string(plan.width) + "x" +
                 std::to_string(plan.height));
  progress.begin("decode+write", plan.frames, "frame");
  FW_ASSIGN_OR_RETURN(
      DecodeResult r,
      write_decoded_video(*decoder, latents, output, [&](int64_t done, int64_t) { progress.advance(done); }));
  progress.end();
  return GenerateResult{r.written, r.frames, r.width, r.height, {}, {}};
}

// "video 2 of 5 (about 40 s left): " for listed prompts, the rest at the pace of the videos so far (the
// first one's loading included, so the estimate errs long); a stream's length is not known.
std::string video_label(const GeneratePlan& plan, int n, double seconds_so_far) {
  std::string label = "video " + std::to_string(n);
  if (plan.prompt_stream) return label + ": ";
  const int total = static_cast<int>(plan.prompts.size());
  label += " of " + std::to_string(total);
  if (n > 1) {
    const double left = seconds_so_far / (n - 1) * (total - n + 1);
    label += " (about " + std::to_string(static_cast<int64_t>(left + 0.5)) + " s left)";
  }
  return label + ": ";
}

}  // namespace

Expected<std::vector<GenerateResult>> text_to_video(const GeneratePlan& plan, Progress& progress,
                                                    const VideoWritten& written, ModelCache* cache) {
  PromptQueue queue(plan);
  LoadedStages own;
  LoadedStages& models = cache ? cache->stages_for(plan) : own;
  std::vector<GenerateResult> results;
  const double start = progress.elapsed();
  // The noise is drawn on a thread of its own while the text encoder loads and runs (the encoder is on the
  // GPU or the thread pool; the draws are host arithmetic), and waited for by the first denoise.
  std::shared_future<Expected<RunNoise>> noise =
      std::async(std::launch::async, [&plan] { return draw_run_noise(plan); }).share();
  for (std::vector<std::string> texts = queue.next(); !texts.empty(); texts = queue.next()) {
    FW_ASSIGN_OR_RETURN(std::vector<Prompts> prompts, encode_prompts(plan, models, texts, progress));
    // Before the DiT needs the memory.
    if (!models.resident && (queue.finished() || !plan.keep_text_encoder)) models.text.reset();
    for (size_t i = 0; i < prompts.size(); ++i) {
      const int n = static_cast<int>(results.size()) + 1;
      if (plan.numbered_outputs()) progress.note(video_label(plan, n, progress.elapsed() - start) + texts[i]);
      // With several videos an error names the one that failed (those before it are written).
      auto tagged = [&](const Error& e) {
        return plan.numbered_outputs() ? e.with_context("video " + std::to_string(n)) : e;
      };
      // Device latents (a loop that ran on the GPU) go to the decoder as they are: the backend's decoders
      // take them there (backend.h).
      DecoderLoading decoder_loading;
      auto latents = denoise(plan, models, prompts[i], noise, decoder_loading, progress);
      if (!latents) return tagged(latents.error());
      if (!plan.save_latents.empty()) {
        const std::string file = plan.latents_for(n);
        const Tensor host = latents->device() == Device::cpu ? *latents : latents->copy_to(Device::cpu);
        if (Status s = write_safetensors(file, std::map<std::string, Tensor>{{"latents", host}}); !s)
          return tagged(s.error().with_context("--save-latents " + file));
      }
      // Before the decoder is loaded.
      if (!models.resident && queue.finished() && i + 1 == prompts.size()) models.dit.reset();
      VideoOutput output = plan.output_for(n);
      output.options.metadata = plan.metadata_for(texts[i]);
      auto result = decode(plan, models, *latents, output, progress, decoder_loading);
      if (!result) return tagged(result.error());
      result->prompt = texts[i];
      if (!plan.save_latents.empty()) result->latents = plan.latents_for(n);
      if (written) written(*result);
      results.push_back(std::move(*result));
    }
  }
  if (results.empty()) return Error("--prompts-file -: no prompts on stdin (expected one per line)");
  return results;
}

}  // namespace fastwan
