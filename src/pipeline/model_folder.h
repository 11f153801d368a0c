// Where the components of a model are: a diffusers Wan2.1 folder (model_index.json, transformer/,
// text_encoder/, tokenizer/, vae/, scheduler/), or a FastWan-QAD repository whose transformer overlays the
// base Wan2.1 components (reference §2.1). Every component is looked for in the model folder first, then in
// the base folder (--base); TAEHV is --taehv, else taew2_1.safetensors in the model folder, then the base.
//
// Resolution reads only configs and checkpoint headers, so a missing folder, file or shard is reported with
// the path that was searched before any model is loaded.
#pragma once

#include <optional>
#include <string>

#include "models/umt5/config.h"
#include "models/wan_dit/config.h"
#include "pipeline/model_defaults.h"

namespace fastwan {

struct ModelFolder {
  std::string model_dir;             // --model, resolved
  std::string base_dir;              // --base, resolved ("" when not given)
  ModelEvidence evidence;            // what the model folder says about which model it is
  std::optional<double> flow_shift;  // scheduler/scheduler_config.json "flow_shift", when present

  std::string transformer;         // folder with the DiT weights (always the model folder's)
  std::string transformer_config;  // its config.json (the base's when the model folder has none)
  std::string text_encoder;        // folder: config.json + weights
  std::string spiece_model;        // tokenizer/spiece.model
  std::string vae;                 // folder, when need_vae
  std::string taehv;               // taew2_1.safetensors, when need_taehv

  WanDitConfig dit;
  Umt5Config text;
};

// Finds the model folder (--model) and the base folder (--base, may be empty): a folder, or ORG/NAME in the
// Hugging Face cache; reads the model folder's model card, model_index.json and transformer config origin.
// Enough to tell the model's family.
Expected<ModelFolder> locate_model_folder(const std::string& model, const std::string& base);

struct ComponentRequest {
  std::string taehv;        // --taehv FILE (optional)
  bool need_vae = false;    // the Wan VAE decodes: vae/ is required
  bool need_taehv = false;  // TAEHV decodes: taew2_1.safetensors is required
};
// Finds every component a run needs, reads the configs, checks they fit each other and opens each
// checkpoint's headers.
Status find_components(ModelFolder& folder, const ComponentRequest& request);

}  // namespace fastwan
