// Where the components of a model are: a diffusers Wan2.1 folder (model_index.json, transformer/,
// text_encoder/, tokenizer/, vae/, scheduler/), or a FastWan-QAD repository whose transformer overlays the
// base Wan2.1 components (reference §2.1). Every component is looked for in the model folder first, then in
// the base folder (--base); TAEHV is --taehv, else taew2_1.safetensors in the model folder, then the base.
//
// --model may also be a single transformer file (safetensors or GGUF, any layout models/checkpoint.h reads);
// the other parts then come from --text-encoder FILE|DIR, --vae FILE|DIR, --tokenizer DIR|FILE (which also
// override a folder's components) or from --base.
//
// Resolution reads only configs and checkpoint headers, so a missing folder, file or shard is reported with
// the path that was searched before any model is loaded.
#pragma once

#include <optional>
#include <string>

#include "io/weight_store.h"
#include "models/umt5/config.h"
#include "models/wan_dit/config.h"
#include "models/wan_dit/lora.h"
#include "pipeline/model_defaults.h"

namespace fastwan {

struct ModelFolder {
  std::string model_dir;             // --model, resolved (the file itself for a single transformer file)
  bool single_file = false;          // --model is one transformer file, not a folder
  std::string base_dir;              // --base, resolved ("" when not given)
  ModelEvidence evidence;            // what the model folder says about which model it is
  std::optional<double> flow_shift;  // scheduler/scheduler_config.json "flow_shift", when present

  std::string transformer;         // folder with the DiT weights (always the model folder's), or the file
  std::string transformer_config;  // its config.json (the base's when the model folder has none), or the file
  std::string text_encoder;        // folder (config.json + weights) or single file
  std::string spiece_model;        // tokenizer/spiece.model
  std::string vae;                 // folder or single file, when need_vae
  std::string taehv;               // taew2_1.safetensors, when need_taehv

  WanDitConfig dit;
  Umt5Config text;
  std::vector<LoraSpec> loras;  // --lora, merged into the transformer's weights at load
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
// Parts named on the command line, in place of the folders' (each optional).
struct NamedParts {
  std::string text_encoder;  // --text-encoder FILE|DIR
  std::string vae;           // --vae FILE|DIR
  std::string tokenizer;     // --tokenizer DIR (with spiece.model) or the spiece.model file
};
// Finds every component a run needs, reads the configs, checks they fit each other and opens each
// checkpoint's headers.
Status find_components(ModelFolder& folder, const ComponentRequest& request, const NamedParts& parts = {});

// The weights as the loaders read them (diffusers names, scaled FP8 multiplied out, the transformer's LoRAs
// merged).
Expected<WeightStore> open_transformer_weights(const ModelFolder& folder);
Expected<WeightStore> open_text_encoder_weights(const ModelFolder& folder);

}  // namespace fastwan
