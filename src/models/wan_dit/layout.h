// The Wan DiT in the layouts users hold: the original Wan / ComfyUI tensor names (one table, both ways), and
// the config read from the tensors themselves when a single file comes without config.json.
#pragma once

#include "io/name_rules.h"
#include "io/weight_store.h"
#include "models/wan_dit/config.h"

namespace fastwan {

// diffusers <-> original Wan names (reference: checkpoint_formats.md). The original norm3 is diffusers'
// norm2, the only norm with parameters.
const NameRules& wan_dit_original_names();

// Markers, on names with any model.diffusion_model. prefix removed.
bool is_wan_dit_original(const WeightStore& store);   // head.modulation
bool is_wan_dit_diffusers(const WeightStore& store);  // proj_out.weight and condition_embedder

// The config from the shapes (diffusers names): the width from patch_embedding, 128-wide heads as in every
// Wan2.1 model, layers from the block indices, FFN, text and frequency widths from their linears.
Expected<WanDitConfig> infer_wan_dit_config(const WeightStore& store);

}  // namespace fastwan
