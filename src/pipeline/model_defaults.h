// What a model runs with unless flags say otherwise, per model family (docs/models.md).
//
//   fastwan-qad  the FastWan-QAD students: DMD at timesteps 1000, 757, 522 (shift-8 sigma table), no
//   guidance,
//                832x480, 81 frames, 16 fps, TAEHV decoder
//   wan2.1       base Wan2.1-T2V: UniPC, 50 steps, flow shift 3 (or the scheduler config's), guidance 5,
//                832x480, 81 frames, 16 fps, Wan VAE decoder
//
// A model is FastWan-QAD when its name (ORG/NAME, or the folder's name) contains "FastWan-QAD" (any case), or
// when its model_index.json names WanDMDPipeline; everything else is wan2.1. --family overrides.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "quant/modes.h"
#include "sampler/sampler.h"
#include "video/decode_latents.h"

namespace fastwan {

enum class ModelFamily { fastwan_qad, wan21 };

Expected<ModelFamily> parse_model_family(const std::string& name);  // "fastwan-qad", "wan2.1"
std::string_view model_family_name(ModelFamily family);

struct FamilyGuess {
  ModelFamily family = ModelFamily::wan21;
  std::string reason;  // why, for the progress output
};
// `name`: ORG/NAME or the folder's name; `pipeline_class`: model_index.json's _class_name ("" if none).
FamilyGuess detect_model_family(const std::string& name, const std::string& pipeline_class);

struct FamilyDefaults {
  int width = 832, height = 480, frames = 81, fps = 16;
  SamplerKind sampler = SamplerKind::unipc;
  DecoderKind decoder = DecoderKind::wan_vae;
};
FamilyDefaults family_defaults(ModelFamily family);

// The precision modes a checkpoint runs in by default: the ones its authors trained it with (reference
// fastwan_qad_inference.md §0), as far as the device runs them:
//   FastWan-QAD-FP8       (a FastWan-QAD name containing "FP8")  linear fp8, attention sage8
//   FastWan-QAD-1.3B-SA2  (a FastWan-QAD name containing "SA2")  linear nvfp4, attention sage8
//   the other FastWan-QAD checkpoints                            linear nvfp4, attention fp4
//   Wan2.1                                                       bf16
// A trained mode the device does not run (`runs`, the backend's; `device` names it) falls back to bf16, the
// linears and the attention each on their own, so that a plain run works everywhere; `reason` says what the
// checkpoint was trained with and what the device lacks.
struct ModesGuess {
  quant::ModelOptions options;
  std::string reason;
};
ModesGuess default_model_options(ModelFamily family, const std::string& name, std::string_view device,
                                 const std::function<bool(const quant::ModelOptions&)>& runs);

// The sampler settings for `kind` on a model of `family`: the family's own sampler as trained, another
// sampler with the family's step count and guidance. unipc and euler take the scheduler config's flow_shift
// when the model has one; dmd keeps its shift-8 sigma table (FastVideo's DMD stage ignores the scheduler).
SamplerConfig family_sampler_config(ModelFamily family, SamplerKind kind,
                                    std::optional<double> scheduler_shift);

}  // namespace fastwan
