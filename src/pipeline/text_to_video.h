// text_to_video: prompt -> text encoder -> seeded noise -> sampler loop over the DiT (with classifier-free
// guidance when the scale is not 1) -> decoder -> video file. It only wires the stages of a backend
// (backend.h) together; the math lives in the components.
//
// One large model is resident at a time: the text encoder is loaded, encodes and is released before the DiT
// is loaded; the DiT is released before the decoder is loaded. The output file appears only when every frame
// is written (video/frame_sink.h).
//
// Several prompts: the listed ones are encoded together, then each is denoised and decoded in turn with the
// DiT and the decoder staying loaded until the last. Streamed prompts (--prompts-file -) are encoded as each
// line arrives, and each line loads the models in turn like a single prompt, unless keep_text_encoder keeps
// all three loaded between lines (no loading after the first; the text encoder's memory beside the DiT's).
#pragma once

#include <functional>
#include <vector>

#include "core/progress.h"
#include "pipeline/generate_plan.h"
#include "pipeline/model_cache.h"

namespace fastwan {

struct GenerateResult {
  std::string written;  // the file, or the range of PNG frames
  int64_t frames = 0, width = 0, height = 0;
  std::string prompt;
  std::string latents;  // the --save-latents file ("" when not saved)
};

// Called as each video is written.
using VideoWritten = std::function<void(const GenerateResult&)>;

// Stages reported to `progress`: "text encoder load", "text", "transformer load", "denoise" (one unit per
// step), "decoder load", "decode+write" (one unit per frame); the loads only when a model is loaded.
// With a `cache`, the stages stay loaded after the run (model_cache.h). When the progress listener asks to
// cancel, the run stops before the next stage or step with the error "cancelled".
Expected<std::vector<GenerateResult>> text_to_video(const GeneratePlan& plan, Progress& progress,
                                                    const VideoWritten& written = nullptr,
                                                    ModelCache* cache = nullptr);

}  // namespace fastwan
