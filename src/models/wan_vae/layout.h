// The Wan 2.1 VAE in the layouts users hold: diffusers names and the original Wan names
// (wan_2.1_vae.safetensors), one table both ways; the config read from the tensors of a single file.
#pragma once

#include "io/name_rules.h"
#include "io/weight_store.h"
#include "models/wan_vae/config.h"

namespace fastwan {

// diffusers <-> original Wan VAE names (wan/modules/vae.py). The original keeps flat Sequentials: a residual
// block's norm1/conv1/norm2/conv2 are residual.0/2/3/6, the decoder's up_blocks.I.resnets.R are
// upsamples.(4I+R) with the upsampler at 4I+3 (Wan 2.1: 4 levels of 3 residual blocks).
const NameRules& wan_vae_original_names();

bool is_wan_vae_original(const WeightStore& store);   // decoder.conv1 + decoder.head
bool is_wan_vae_diffusers(const WeightStore& store);  // decoder.conv_in

// The Wan 2.1 VAE with the widths the tensors have (base_dim, z_dim); other fields are Wan 2.1's.
Expected<WanVaeConfig> infer_wan_vae_config(const WeightStore& store);

}  // namespace fastwan
