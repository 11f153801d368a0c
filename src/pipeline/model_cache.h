// The loaded stages of text_to_video, and who decides how long they stay.
//
// A run of `fastwan generate` owns its stages and releases each one as soon as no prompt still to come needs
// it (one large model resident at a time). A long-lived caller (the server) hands text_to_video a ModelCache
// instead: everything loaded stays resident for the next job, and a stage is reloaded only when a job needs
// another one (another model folder, precision mode or decoder).
#pragma once

#include <future>
#include <memory>
#include <optional>
#include <string>

#include "core/progress.h"
#include "pipeline/backend.h"
#include "pipeline/generate_plan.h"

namespace fastwan {

struct LoadedStages {
  std::unique_ptr<TextEncoderStage> text;
  std::optional<PromptEmbedding> negative;  // with guidance: encoded once, for every prompt of a run
  std::unique_ptr<Denoiser> dit;
  std::unique_ptr<VideoDecoder> decoder;
  bool resident = false;  // kept between runs: never released by text_to_video
};

// Each loads its stage into `stages` unless it is there, as the progress stage "<stage> load".
Status load_text_encoder(const GeneratePlan& plan, LoadedStages& stages, Progress& progress);
Status load_denoiser(const GeneratePlan& plan, LoadedStages& stages, Progress& progress);

// The decoder loading on a thread of its own, bound to the caller's device, while the DiT's loop runs
// (Backend::loads_beside_denoise), then warmed up for the plan's latents (VideoDecoder::warm_up); invalid
// when the stage is loaded or the backend loads in turn.
using DecoderLoading = std::future<Expected<std::unique_ptr<VideoDecoder>>>;
DecoderLoading start_decoder_load(const GeneratePlan& plan, const LoadedStages& stages);
// Loads the decoder unless it is there, or takes the one `loading` (when valid) brings: the stage "decoder
// load" then times what the loop did not hide.
Status load_decoder(const GeneratePlan& plan, LoadedStages& stages, Progress& progress,
                    DecoderLoading* loading = nullptr);

class ModelCache {
 public:
  ModelCache() { stages_.resident = true; }
  // The stages for `plan`: those loaded for an earlier plan that still fit, the others released (the
  // pipeline loads them when it needs them). The negative prompt's embedding is per run and dropped.
  LoadedStages& stages_for(const GeneratePlan& plan);
  // Loads every stage `plan` needs now (at start-up, so that the first job pays no loading).
  Status load(const GeneratePlan& plan, Progress& progress);

 private:
  LoadedStages stages_;
  std::string text_key_, dit_key_, decoder_key_;
};

}  // namespace fastwan
