#include "models/checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/json_config.h"
#include "io/scaled_fp8.h"
#include "models/umt5/layout.h"
#include "models/wan_dit/layout.h"
#include "models/wan_vae/layout.h"

namespace fastwan {
namespace fs = std::filesystem;
namespace {

// A layout other than the one the loaders read: its name, its table, and the marker that tells it.
struct OtherLayout {
  const char* name;
  const NameRules& (*rules)();
  bool (*present)(const WeightStore&);
};

// What the loaders' layout is called, and the other layouts of a component.
std::pair<const char*, std::vector<OtherLayout>> layouts_of(Component c) {
  switch (c) {
    case Component::wan_dit:
      return {"diffusers", {{"original Wan", wan_dit_original_names, is_wan_dit_original}}};
    case Component::umt5:
      return {"T5-style (transformers)",
              {{"original Wan", umt5_original_names, is_umt5_original},
               {"llama.cpp T5", umt5_llama_cpp_names, is_umt5_llama_cpp}}};
    case Component::wan_vae:
      return {"diffusers", {{"original Wan", wan_vae_original_names, is_wan_vae_original}}};
  }
  return layouts_of(Component::wan_dit);
}

// Brings `store` to the diffusers names and records what it held in store.layout(). Names in no other layout
// are taken as diffusers names: the loaders then name any tensor that is missing.
Status normalize(WeightStore& store, Component c) {
  std::string layout;
  if (c == Component::wan_dit) {
    FW_ASSIGN_OR_RETURN(bool prefixed, strip_name_prefix(store, kComfyDitPrefix));
    if (prefixed) layout = std::string(", prefix ") + kComfyDitPrefix;
  }
  FW_ASSIGN_OR_RETURN(std::string fp8, dequantize_scaled_fp8(store));
  if (!fp8.empty()) layout += ", " + fp8;
  auto [names, others] = layouts_of(c);
  for (const auto& other : others) {
    if (!other.present(store)) continue;
    names = other.name;
    const NameRules& rules = other.rules();
    FW_RETURN_IF_ERROR(store.rename(
        [&](const std::string& name) { return apply_name_rules(rules, name, RenameTo::diffusers); }));
    break;
  }
  const std::string container = store.layout().empty() ? "" : store.layout() + ", ";
  store.set_layout(container + std::string(names) + " names" + layout);
  return Status::Ok();
}

template <typename Config>
Expected<Checkpoint<Config>> open_component(const std::string& path, Component c,
                                            Expected<Config> (*infer)(const WeightStore&)) {
  Checkpoint<Config> ckpt;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    ckpt.config_source = (fs::path(path) / "config.json").string();
    FW_ASSIGN_OR_RETURN(ckpt.config, Config::load(ckpt.config_source));
  }
  FW_ASSIGN_OR_RETURN(ckpt.store, open_component_weights(path, c));
  if (!ckpt.config_source.empty()) return ckpt;
  ckpt.config_source = path;
  if (auto text = ckpt.store.metadata("config")) {
    const auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) return Error(path + ": the \"config\" metadata entry is not valid JSON");
    FW_ASSIGN_OR_RETURN(ckpt.config, Config::from_json(j, path + " (config metadata)"));
    return ckpt;
  }
  FW_ASSIGN_OR_RETURN(ckpt.config, infer(ckpt.store));
  return ckpt;
}

}  // namespace

std::string_view component_name(Component c) {
  switch (c) {
    case Component::wan_dit:
      return "Wan DiT";
    case Component::umt5:
      return "UMT5 text encoder";
    case Component::wan_vae:
      return "Wan VAE";
  }
  return "";
}

Expected<WeightStore> open_component_weights(const std::string& path, Component c) {
  FW_ASSIGN_OR_RETURN(WeightStore store, WeightStore::open(path));
  FW_RETURN_IF_ERROR(normalize(store, c));
  return store;
}

Expected<Checkpoint<WanDitConfig>> open_wan_dit(const std::string& path) {
  return open_component<WanDitConfig>(path, Component::wan_dit, infer_wan_dit_config);
}

Expected<Checkpoint<Umt5Config>> open_umt5(const std::string& path) {
  return open_component<Umt5Config>(path, Component::umt5, infer_umt5_config);
}

Expected<Checkpoint<WanVaeConfig>> open_wan_vae(const std::string& path) {
  return open_component<WanVaeConfig>(path, Component::wan_vae, infer_wan_vae_config);
}

Expected<std::optional<AnyCheckpoint>> open_any(const std::string& path) {
  FW_ASSIGN_OR_RETURN(WeightStore raw, WeightStore::open(path));
  FW_ASSIGN_OR_RETURN(bool prefixed, strip_name_prefix(raw, kComfyDitPrefix));
  (void)prefixed;  // only the names matter here
  auto found = [](Component c, const auto& ckpt) {
    return std::optional<AnyCheckpoint>(AnyCheckpoint{c, ckpt.config.to_json(), ckpt.store});
  };
  if (is_wan_dit_original(raw) || is_wan_dit_diffusers(raw)) {
    FW_ASSIGN_OR_RETURN(auto ckpt, open_wan_dit(path));
    return found(Component::wan_dit, ckpt);
  }
  if (is_umt5_original(raw) || is_umt5_t5_style(raw) || is_umt5_llama_cpp(raw)) {
    FW_ASSIGN_OR_RETURN(auto ckpt, open_umt5(path));
    return found(Component::umt5, ckpt);
  }
  if (is_wan_vae_original(raw) || is_wan_vae_diffusers(raw)) {
    FW_ASSIGN_OR_RETURN(auto ckpt, open_wan_vae(path));
    return found(Component::wan_vae, ckpt);
  }
  return std::optional<AnyCheckpoint>();
}

}  // namespace fastwan
