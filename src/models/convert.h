// Writing a model component in a chosen layout: `fastwan convert` and the tests that check every layout
// loads to the same model. The input is a store in the diffusers names (models/checkpoint.h opens any
// supported file that way).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "io/weight_store.h"
#include "models/checkpoint.h"

namespace fastwan {

struct FileLayout {
  bool original_names = false;  // the original Wan / ComfyUI names (the model's table in models/*/layout.h)
  std::string prefix;           // put before every name (ComfyUI's model.diffusion_model. for the DiT)
  // The linear weights (attention projections, FFN matrices) as F8_E4M3 with a per-tensor scale_weight
  // (amax / 448) and a scaled_fp8 marker, like ComfyUI's scaled-FP8 files; everything else as stored.
  bool scaled_fp8 = false;
  nlohmann::json config;  // written as the "config" metadata entry when not null
};

// One safetensors file at `path`, written atomically, tensors in their stored dtype unless scaled_fp8.
Status write_component_file(const WeightStore& store, Component component, const FileLayout& layout,
                            const std::string& path);

// Whether a diffusers-named tensor of `component` is one of the linears scaled-FP8 files quantize.
bool is_fp8_linear(Component component, const std::string& name);

struct ConvertOptions {
  std::string input;   // a folder or single file of one component (DiT, UMT5, Wan VAE)
  std::string output;  // a folder (diffusers: config.json + weights) or, with scaled_fp8, a .safetensors file
  bool scaled_fp8 = false;
};
// Reads any supported input and writes it as a diffusers component folder (config.json + weights in the
// diffusers names, as stored) or as a scaled-FP8 single file (original Wan names for the DiT, with its
// config in the metadata). Returns a one-line summary.
Expected<std::string> convert_checkpoint(const ConvertOptions& options);

}  // namespace fastwan
