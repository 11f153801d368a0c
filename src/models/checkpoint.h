// Opening a model component from the files users have: a diffusers component folder (config.json + weights)
// or a single file (safetensors or GGUF) in any supported layout. The store that comes back always speaks
// the diffusers (for UMT5: transformers) names, so every loader asks for one set of names:
//   - a `model.diffusion_model.` prefix is removed (DiT);
//   - scaled FP8 weights are multiplied out to bf16 (io/scaled_fp8.h);
//   - original Wan / ComfyUI names are renamed through the model's table (models/*/layout.h).
// A single file's config comes from its "config" metadata entry (what `fastwan convert` writes) or from the
// tensors' shapes.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "io/weight_store.h"
#include "models/umt5/config.h"
#include "models/wan_dit/config.h"
#include "models/wan_vae/config.h"

namespace fastwan {

enum class Component { wan_dit, umt5, wan_vae };
std::string_view component_name(Component c);  // "Wan DiT", "UMT5 text encoder", "Wan VAE"

template <typename Config>
struct Checkpoint {
  Config config;
  WeightStore store;          // diffusers names; store.layout() says what the file held
  std::string config_source;  // config.json, or the file whose tensors gave it
};

Expected<Checkpoint<WanDitConfig>> open_wan_dit(const std::string& path);
Expected<Checkpoint<Umt5Config>> open_umt5(const std::string& path);
Expected<Checkpoint<WanVaeConfig>> open_wan_vae(const std::string& path);

// Only the weights (folder or file), brought to the diffusers names: for a folder whose config is found
// elsewhere.
Expected<WeightStore> open_component_weights(const std::string& path, Component c);

// Any component (folder or file), told by its tensor names: its config as config.json holds it and its
// store in the diffusers names; nullopt when the names are those of no component (a LoRA, latents).
struct AnyCheckpoint {
  Component component;
  nlohmann::json config;
  WeightStore store;
};
Expected<std::optional<AnyCheckpoint>> open_any(const std::string& path);

// The name prefix ComfyUI puts before every DiT tensor.
inline constexpr const char kComfyDitPrefix[] = "model.diffusion_model.";

}  // namespace fastwan
