// `fastwan synth`: complete model folders in the diffusers layout with random weights under the real tensor
// names, for tests and benchmarks without downloads.
#pragma once

#include <string>

#include "fastwan/status.h"
#include "pipeline/model_defaults.h"

namespace fastwan {

enum class SynthPreset { tiny, wan21_1_3b };

Expected<SynthPreset> parse_synth_preset(const std::string& name);

struct SynthOptions {
  SynthPreset preset = SynthPreset::tiny;
  // The model card (README.md) names this family's checkpoint, so that generate picks its defaults:
  // Wan2.1-T2V-1.3B, or FastWan-QAD-FP8-1.3B (DMD 3 steps, TAEHV).
  ModelFamily family = ModelFamily::wan21;
  std::string out_dir;
  bool force = false;  // write into a folder that is not empty
  uint64_t seed = 0;
};

// Writes the folder: README.md, transformer/, text_encoder/, tokenizer/, vae/, taew2_1.safetensors,
// scheduler/ and model_index.json (WanPipeline, as for Wan-AI/Wan2.1-T2V-1.3B-Diffusers and, per FastVideo's
// examples, the FastWan-QAD repositories). A folder that is not empty is refused unless `force`. Every file
// is written atomically, and what exists is left as it was on error.
Status synthesize_model(const SynthOptions& options);

// Components, usable on their own (a test can write just a transformer).
Status synthesize_transformer(const std::string& dir, SynthPreset preset, uint64_t seed);
// text_encoder/ (UMT5, sharded like the published one, bf16, streamed) and tokenizer/spiece.model. Both
// presets get the golden test tokenizer (no real UMT5 spiece.model is available offline); tokenizer/README.md
// says so.
Status synthesize_text_encoder(const std::string& dir, SynthPreset preset, uint64_t seed);
// vae/: config.json + diffusion_pytorch_model.safetensors of an AutoencoderKLWan (encoder and decoder),
// float32 like the published Wan2.1 VAE; the tiny preset has base_dim 16.
Status synthesize_vae(const std::string& dir, SynthPreset preset, uint64_t seed);
// A taew2_1.safetensors (TAEHV for Wan 2.1, encoder and decoder) at `path`, float16 like the published file.
Status synthesize_taehv(const std::string& path, uint64_t seed);

}  // namespace fastwan
