// `fastwan generate`'s settings: what the user gave (GenerateFlags, unset = the model's default) becomes a
// checked GeneratePlan before any work starts. Every check that can fail runs here: flag values, the output
// path, the model's folders and files, the device.
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/backend.h"
#include "pipeline/model_defaults.h"
#include "pipeline/model_folder.h"
#include "sampler/noise.h"
#include "video/frame_sink.h"

namespace fastwan {

// FastVideo's default seed (SamplingParam.seed).
constexpr uint64_t kDefaultSeed = 1024;

struct GenerateFlags {
  std::vector<std::string> prompts;  // -p, repeatable
  std::string prompts_file;          // --prompts-file: one prompt per line; "-" reads stdin as lines arrive
  bool keep_text_encoder = false;
  std::string negative_prompt;
  std::string model, base, taehv;
  std::string text_encoder, vae, tokenizer;  // parts named apart from --model (single files)
  std::vector<std::string> loras;            // --lora FILE[:SCALE], repeatable
  std::optional<int> width, height, frames, fps, steps, crf;
  std::optional<std::string> sampler, decoder, rng, device, family, format, timesteps;
  std::optional<double> cfg_scale, flow_shift;
  std::optional<uint64_t> seed;
  std::string output = "out.mp4";
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
  std::string family_reason;
  int64_t width = 0, height = 0, frames = 0;
  SamplerConfig sampler;
  NoiseLayout noise_layout = NoiseLayout::bcthw;  // the reference pipeline's draw order for the sampler
  uint64_t seed = kDefaultSeed;
  RngKind rng = RngKind::philox;
  DecoderKind decoder = DecoderKind::taehv;
  VideoOutput output;
  DeviceChoice device;

  // [1, C, (frames - 1) / 4 + 1, height / 8, width / 8]: the Wan VAE's 4x time and 8x space compression.
  Shape latent_shape() const;
  // Several videos (more than one prompt, or a stream): out.mp4 becomes out-1.mp4, out-2.mp4, ...
  bool numbered_outputs() const { return prompts.size() > 1 || prompt_stream; }
  // The output of the n-th video (1-based): `output`, numbered when numbered_outputs().
  VideoOutput output_for(int n) const;
  std::string describe() const;  // one line: sampler, steps, guidance, seed, size
};

Expected<GeneratePlan> plan_generation(const GenerateFlags& flags);

// The next prompt of a --prompts-file stream (blank lines skipped); nullopt at its end. Blocks on a pipe.
std::optional<std::string> next_streamed_prompt(std::istream& in);

}  // namespace fastwan
