// What a model runs with unless flags say otherwise, per model family (docs/models.md).
//
//   fastwan-qad  the FastWan-QAD students: DMD at timesteps 1000, 757, 522 (shift-8 sigma table), no
//                guidance, 832x480, 81 frames, 16 fps, TAEHV decoder
//   wan2.1       base Wan2.1-T2V: UniPC, 50 steps, flow shift 3 (or the scheduler config's), guidance 5,
//                832x480, 81 frames, 16 fps, Wan VAE decoder
//
// The family (and, for FastWan-QAD, which of the three students) is read from every piece of evidence a
// folder offers (ModelEvidence); when there is none, or it disagrees, the guess says so. --family overrides.
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

// The published checkpoints of the families. They share architecture and tensor names and differ in the
// low-bit kernels they were trained against, so the variant is what per-checkpoint defaults (precision
// modes) follow. fastwan_qad: a student whose evidence does not say which one.
enum class ModelVariant { wan21, fastwan_qad, fastwan_qad_fp8, fastwan_qad_nvfp4_sa2, fastwan_qad_nvfp4 };

ModelFamily variant_family(ModelVariant variant);
// The Hugging Face repository name ("FastWan-QAD-FP8-1.3B", "Wan2.1-T2V-1.3B"; "FastWan-QAD" when unknown).
std::string_view model_variant_name(ModelVariant variant);

// What a model folder says about which model it is (collected by locate_model_folder).
struct ModelEvidence {
  std::string name;                // ORG/NAME (given, or of a hub-cache snapshot), else the folder's name
  std::string model_card;          // README.md of the folder (Hugging Face downloads include it), "" if none
  std::string pipeline_class;      // model_index.json "_class_name", "" if none
  std::string transformer_origin;  // transformer/config.json "_name_or_path", "" if none
  bool overlay = false;            // a transformer without its own text encoder, run over --base
};

struct FamilyGuess {
  ModelVariant variant = ModelVariant::wan21;
  ModelFamily family = ModelFamily::wan21;
  std::string reason;     // the evidence that decided, for the settings line
  std::string ambiguity;  // "" when the evidence agrees; else one line naming --family
};
// The strongest evidence decides: the model card, model_index.json's WanDMDPipeline, the transformer
// config's origin, the name, then a transformer-only overlay. No evidence means wan2.1, ambiguously.
FamilyGuess detect_model_family(const ModelEvidence& evidence);
// --family given: the family is the user's; a FastWan-QAD variant the evidence names is kept.
FamilyGuess choose_model_family(const FamilyGuess& guess, ModelFamily family);

struct FamilyDefaults {
  int width = 832, height = 480, frames = 81, fps = 16;
  SamplerKind sampler = SamplerKind::unipc;
  DecoderKind decoder = DecoderKind::wan_vae;
};
FamilyDefaults family_defaults(ModelFamily family);

// The precision modes a checkpoint runs in by default: the ones its authors trained it with (reference
// fastwan_qad_inference.md §0), as far as the device runs them:
//   FastWan-QAD-FP8       linear fp8, attention sage8
//   FastWan-QAD-1.3B-SA2  linear nvfp4, attention sage8
//   FastWan-QAD-1.3B      linear nvfp4, attention fp4
//   Wan2.1, and a FastWan-QAD student whose folder does not say which one: bf16
// (the variant is what the folder's evidence names, detect_model_family).
// A trained mode the device does not run (`runs`, the backend's; `device` names it) falls back to bf16, the
// linears and the attention each on their own, so that a plain run works everywhere; `reason` says what the
// checkpoint was trained with and what the device lacks.
struct ModesGuess {
  quant::ModelOptions options;
  std::string reason;
};
ModesGuess default_model_options(ModelVariant variant, std::string_view device,
                                 const std::function<bool(const quant::ModelOptions&)>& runs);

// The sampler settings for `kind` on a model of `family`: the family's own sampler as trained, another
// sampler with the family's step count and guidance. unipc and euler take the scheduler config's flow_shift
// when the model has one; dmd keeps its shift-8 sigma table (FastVideo's DMD stage ignores the scheduler).
SamplerConfig family_sampler_config(ModelFamily family, SamplerKind kind,
                                    std::optional<double> scheduler_shift);

}  // namespace fastwan
