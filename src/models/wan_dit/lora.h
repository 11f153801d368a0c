// LoRA for the Wan DiT, merged into the weights at load (before any quantization): W += s * (alpha / r) * B A
// for each low-rank pair (B [out, r], A [r, in]), s the --lora scale, alpha the file's (r when absent).
//
// Key styles: diffusers / PEFT (`<module>.lora_A.weight`, `.lora_B.weight`), kohya (`lora_unet_<module with
// '_' for '.'>.lora_down.weight`, `.lora_up.weight`, `.alpha`), with modules in the diffusers or the
// original Wan names and a `transformer.`, `diffusion_model.` or `model.diffusion_model.` prefix. A LoRA is
// matched against the DiT's linears; one whose keys match none is an error that says how many matched.
#pragma once

#include <string>
#include <vector>

#include "io/weight_store.h"

namespace fastwan {

struct LoraSpec {
  std::string path;
  float scale = 1.0f;
};

// FILE[:SCALE]: a trailing ':' and number is the scale (default 1); anything else is all path.
Expected<LoraSpec> parse_lora_spec(const std::string& text);

// The low-rank modules a file holds (0: not a LoRA), for `fastwan info`.
size_t lora_module_count(const WeightStore& lora);

// Merges each LoRA into `store` (the DiT in diffusers names). The merge happens when a weight is read, so
// this checks every pair's shapes against its layer now and reads nothing big. Returns one line per LoRA:
// "FILE: 60 of 60 modules (rank 16, scale 0.8)".
Expected<std::vector<std::string>> merge_loras(WeightStore& store, const std::vector<LoraSpec>& loras);

}  // namespace fastwan
