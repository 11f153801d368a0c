// `fastwan generate`'s settings: what the user gave (GenerateFlags, unset = the model's default) becomes a
// checked GeneratePlan before any work starts. Every check that can fail runs here: flag values, the output
// path, the model's folders and files, the device.
#pragma once

#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/backend.h"
#include "pipeline/model_defaults.h"
#include "pipeline/model_folder.h"
#include "sampler/noise.h"
#include "video/frame_sink.h"
#include "video/metadata.h"

namespace fastwan {

struct GenerateFlags {
  std::vector<std::string> prompts;  // -p, repeatable
  std::string prompts_file;          // --prompts-file: one prompt per line; "-" reads stdin as lines arrive
  bool keep_text_encoder = false;
  std::string negative_prompt;
  std::string model, base, taehv;
  std::string text_encoder, vae, tokenizer;  // parts named apart from --model (single files)
  std::vector<std::string> loras;            // --lora FILE[:SCALE], repeatable
  std::optional<int> width, height, frames, fps, steps, crf;
  std::optional<std::string> sampler, decoder, rng, device, family, format, timesteps, linear, attention,
      kernels;
  std::optional<double> cfg_scale, flow_shift;
  std::optional<uint64_t> seed;  // unset (-s -1): a random seed, printed with the settings
  std::string output = "out.mp4";
  std::string save_latents;  // --save-latents FILE
};

struct GeneratePlan {
  // The prompts in order: the -p list and a regular --prompts-file's lines, then (--prompts-file -) each line
  // of `prompt_stream` as it arrives. Every prompt gets the same seed and settings.
  std::vector<std::string> prompts;
  std::istream* prompt_stream = nullptr;  // not owned
  // Keep the models loaded while more prompts may come (a stream), the text encoder beside the DiT, instead
  // of loading them in turn for each line.
  bool keep_text_encoder = false;
  std::string negative_prompt;
  ModelFolder model;
  ModelFamily family = ModelFamily::wan21;
  ModelVariant variant = ModelVariant::wan21;  // which checkpoint of the family, as far as the evidence tells
  std::string family_reason;
  std::string family_ambiguity;  // "" unless the evidence was missing or disagreed (names --family)
  int64_t width = 0, height = 0, frames = 0;
  SamplerConfig sampler;
  NoiseLayout noise_layout = NoiseLayout::bcthw;  // the reference pipeline's draw order for the sampler
  uint64_t seed = 0;
  bool random_seed = false;  // drawn because no -s was given
  RngKind rng = RngKind::philox;
  DecoderKind decoder = DecoderKind::taehv;
  quant::ModelOptions modes;  // --linear / --attention, else the checkpoint's default
  std::string modes_reason;
  VideoOutput output;
  std::string software;      // "fastwan 0.1.0 (commit ...)": kept in the outputs' metadata
  std::string save_latents;  // --save-latents: the sampler's latents for `fastwan decode` ("" = not saved)
  DeviceChoice device;

  // [1, C, (frames - 1) / 4 + 1, height / 8, width / 8]: the Wan VAE's 4x time and 8x space compression.
  Shape latent_shape() const;
  // Several videos (more than one prompt, or a stream): out.mp4 becomes out-1.mp4, out-2.mp4, ...
  bool numbered_outputs() const { return prompts.size() > 1 || prompt_stream; }
  // The output of the n-th video (1-based): `output`, numbered when numbered_outputs().
  VideoOutput output_for(int n) const;
  // The --save-latents file of the n-th video, numbered like its output.
  std::string latents_for(int n) const;
  std::string numbered(const std::string& file, int n) const;
  std::string describe() const;  // one line: family, sampler, steps, guidance, seed, size, decoder
  // The effective settings as JSON (--json, the outputs' metadata): every value a rerun needs.
  nlohmann::json settings_json() const;
  // What the n-th video's file keeps of how it was made (video/metadata.h).
  VideoMetadata metadata_for(const std::string& prompt) const;
};

Expected<GeneratePlan> plan_generation(const GenerateFlags& flags);

// The next prompt of a --prompts-file stream (blank lines skipped); nullopt at its end. Blocks on a pipe.
std::optional<std::string> next_streamed_prompt(std::istream& in);

}  // namespace fastwan
