#include "pipeline/model_folder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/log.h"
#include "io/hf_cache.h"
#include "io/json_config.h"
#include "io/weight_store.h"
#include "models/checkpoint.h"
#include "models/taehv/config.h"
#include "models/wan_vae/config.h"

namespace fastwan {
namespace fs = std::filesystem;
namespace {

const char kBaseHint[] =
    "; a FastWan-QAD repository holds only the transformer: give the base model with --base "
    "Wan-AI/Wan2.1-T2V-1.3B-Diffusers or --base DIR";

// The model folder first, then the base folder (a single transformer file has no folder to search).
struct Search {
  fs::path model, base;

  // `rel` in the model folder, else in the base folder; the error lists every path searched.
  Expected<fs::path> find(const std::string& rel, bool folder, const std::string& expected) const {
    std::error_code ec;
    auto present = [&](const fs::path& p) {
      return folder ? fs::is_directory(p, ec) : fs::is_regular_file(p, ec);
    };
    if (!model.empty() && present(model / rel)) return model / rel;
    if (!base.empty() && present(base / rel)) return base / rel;
    const std::string shown = rel + (folder ? "/" : "");
    if (model.empty() && base.empty())
      return Error("missing " + shown + " (expected " + expected +
                   "): --model is a single transformer file; name the part with its flag or give --base");
    if (model.empty())
      return Error("missing " + shown + ": searched " + (base / rel).string() + " (expected " + expected +
                   ")");
    if (base.empty())
      return Error("missing " + shown + ": searched " + (model / rel).string() + " (expected " + expected +
                   ")" + kBaseHint);
    return Error("missing " + shown + ": searched " + (model / rel).string() + " and " +
                 (base / rel).string() + " (expected " + expected + ")");
  }
};

// A component folder's config.json, named in the error when it is missing.
Expected<std::string> config_in(const fs::path& dir, const std::string& expected) {
  const fs::path config = dir / "config.json";
  std::error_code ec;
  if (!fs::is_regular_file(config, ec))
    return Error("missing " + config.string() + " (expected " + expected + ")");
  return config.string();
}

// A part named by its flag (--text-encoder, --vae), else the one the search finds.
Expected<fs::path> part_path(const std::string& given, const std::string& flag, const Search& s,
                             const std::string& rel, const std::string& expected) {
  if (given.empty()) return s.find(rel, true, expected);
  std::error_code ec;
  if (!fs::exists(given, ec))
    return Error(flag + " " + given + ": no such file or folder (expected " + expected + ")");
  return fs::path(given);
}

// The config of a part given as a single file (read from its tensors); its headers are checked on the way.
template <typename Config>
Expected<Config> config_of_file(Expected<Checkpoint<Config>> (*open)(const std::string&),
                                const fs::path& file, const std::string& what) {
  auto ckpt = open(file.string());
  if (!ckpt) return ckpt.error().with_context(what);
  return ckpt->config;
}

// Opening the store validates every header and shard without reading tensors.
Status check_weights(const fs::path& path, const std::string& what) {
  auto store = WeightStore::open(path.string());
  if (!store) return store.error().with_context(what);
  return Status::Ok();
}

std::string model_name(const std::string& value, const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(value, ec)) return value;  // an ORG/NAME id
  if (std::string id = hf_repo_id_of_snapshot(dir); !id.empty()) return id;
  // As given, not canonical: a symlink's own name is the one the user chose.
  fs::path p = fs::absolute(fs::path(dir), ec).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

Status read_model_index(const fs::path& dir, ModelEvidence& e) {
  std::error_code ec;
  const fs::path index = dir / "model_index.json";
  if (!fs::exists(index, ec)) return Status::Ok();
  FW_ASSIGN_OR_RETURN(auto j, read_json_file(index.string()));
  ConfigReader r(j, index.string());
  e.pipeline_class = r.string("_class_name", std::string());
  FW_RETURN_IF_ERROR(r.status());
  if (!e.pipeline_class.empty() && !e.pipeline_class.starts_with("Wan"))
    return Error(index.string() + ": _class_name is " + e.pipeline_class +
                 ", not a Wan pipeline (fastwan generate runs Wan2.1 text-to-video, WanPipeline)");
  return Status::Ok();
}

// The model card and the transformer config's origin, when there: hints only, so a file that cannot be read
// is no hint (a broken config is reported when the components are checked).
void read_hints(const fs::path& dir, ModelEvidence& e) {
  constexpr size_t kCardBytes = 64 * 1024;  // a model card's names are near its top
  std::ifstream card(dir / "README.md", std::ios::binary);
  e.model_card.resize(kCardBytes);
  card.read(e.model_card.data(), static_cast<std::streamsize>(kCardBytes));
  e.model_card.resize(static_cast<size_t>(std::max<std::streamsize>(card.gcount(), 0)));
  std::error_code ec;
  const fs::path config = dir / "transformer" / "config.json";
  if (!fs::is_regular_file(config, ec)) return;
  if (auto j = read_json_file(config.string());
      j && j->is_object() && j->contains("_name_or_path") && (*j)["_name_or_path"].is_string())
    e.transformer_origin = (*j)["_name_or_path"].get<std::string>();
}

Status read_scheduler(const Search& s, ModelFolder& f) {
  auto config = s.find("scheduler/scheduler_config.json", false, "");
  if (!config) return Status::Ok();  // optional: the defaults of the model family apply
  FW_ASSIGN_OR_RETURN(auto j, read_json_file(config->string()));
  ConfigReader r(j, config->string());
  if (r.has("flow_shift")) f.flow_shift = r.number("flow_shift");
  FW_RETURN_IF_ERROR(r.status());
  return Status::Ok();
}

Status find_decoder_files(const ComponentRequest& q, const NamedParts& n, const Search& s, ModelFolder& f) {
  std::error_code ec;
  if (q.need_vae) {
    FW_ASSIGN_OR_RETURN(fs::path vae,
                        part_path(n.vae, "--vae", s, "vae", "the Wan VAE: config.json and weights"));
    std::string config = vae.string();
    WanVaeConfig vc;
    if (fs::is_directory(vae, ec)) {
      FW_ASSIGN_OR_RETURN(config, config_in(vae, "the Wan VAE's config"));
      FW_ASSIGN_OR_RETURN(vc, WanVaeConfig::load(config));
      FW_RETURN_IF_ERROR(check_weights(vae, "Wan VAE"));
    } else {
      FW_ASSIGN_OR_RETURN(vc, config_of_file(open_wan_vae, vae, "Wan VAE"));
    }
    if (vc.z_dim != f.dit.out_channels)
      return Error(config + ": z_dim " + std::to_string(vc.z_dim) + " does not match out_channels " +
                   std::to_string(f.dit.out_channels) + " of " + f.transformer_config);
    f.vae = vae.string();
  }
  if (q.need_taehv) {
    if (!q.taehv.empty()) {
      if (!fs::is_regular_file(q.taehv, ec))
        return Error("--taehv " + q.taehv + ": no such file (expected taew2_1.safetensors)");
      f.taehv = q.taehv;
    } else {
      auto found = s.find("taew2_1.safetensors", false, "TAEHV for Wan 2.1");
      if (!found)
        return Error(
            found.error().message() +
            "; get it from https://github.com/madebyollin/taehv (safetensors/taew2_1.safetensors) and "
            "pass --taehv FILE, or decode with --decoder wan-vae");
      f.taehv = found->string();
    }
    const int64_t channels = TaehvConfig::taew2_1().latent_channels;
    if (f.dit.out_channels != channels)
      return Error(f.transformer_config + ": out_channels " + std::to_string(f.dit.out_channels) +
                   ", but TAEHV for Wan 2.1 decodes " + std::to_string(channels) + "-channel latents");
    FW_RETURN_IF_ERROR(check_weights(f.taehv, "TAEHV"));
  }
  return Status::Ok();
}

}  // namespace

Expected<ModelFolder> locate_model_folder(const std::string& model, const std::string& base) {
  ModelFolder f;
  std::error_code ec;
  if (fs::is_regular_file(model, ec)) {
    f.single_file = true;
    f.model_dir = model;
  } else {
    FW_ASSIGN_OR_RETURN(f.model_dir, resolve_model_location(model, "--model"));
  }
  if (!base.empty()) {
    FW_ASSIGN_OR_RETURN(f.base_dir, resolve_model_location(base, "--base"));
  }
  if (f.single_file) {
    // A single DiT file (ComfyUI, original Wan) is not a FastWan-QAD overlay: only its name is evidence.
    f.evidence.name = fs::path(model).stem().string();
    return f;
  }
  f.evidence.name = model_name(model, f.model_dir);
  FW_RETURN_IF_ERROR(read_model_index(f.model_dir, f.evidence));
  read_hints(f.model_dir, f.evidence);
  f.evidence.overlay = !f.base_dir.empty() && !fs::is_directory(fs::path(f.model_dir) / "text_encoder", ec);
  return f;
}

namespace {

// The transformer is the model's own (that is what a FastWan-QAD repository brings); only its config may
// come from the base. A single file carries its config.
Status find_transformer(const Search& s, ModelFolder& f) {
  std::error_code ec;
  if (f.single_file) {
    f.transformer = f.transformer_config = f.model_dir;
    FW_ASSIGN_OR_RETURN(f.dit, config_of_file(open_wan_dit, f.model_dir, "transformer"));
  } else {
    if (!fs::is_directory(s.model / "transformer", ec))
      return Error("missing transformer/: searched " + (s.model / "transformer").string() +
                   " (expected the Wan DiT: config.json and weights)");
    f.transformer = (s.model / "transformer").string();
    FW_ASSIGN_OR_RETURN(fs::path dit_config,
                        s.find("transformer/config.json", false, "the transformer's config"));
    f.transformer_config = dit_config.string();
    FW_ASSIGN_OR_RETURN(f.dit, WanDitConfig::load(f.transformer_config));
  }
  if (f.dit.in_channels != f.dit.out_channels)
    return Error(f.transformer_config + ": in_channels " + std::to_string(f.dit.in_channels) +
                 " differs from out_channels " + std::to_string(f.dit.out_channels) +
                 ": not a text-to-video transformer (fastwan generate runs Wan2.1 T2V)");
  if (!f.single_file) FW_RETURN_IF_ERROR(check_weights(f.transformer, "transformer"));
  return Status::Ok();
}

Status find_text_parts(const NamedParts& q, const Search& s, ModelFolder& f) {
  std::error_code ec;
  FW_ASSIGN_OR_RETURN(fs::path te, part_path(q.text_encoder, "--text-encoder", s, "text_encoder",
                                             "the UMT5 text encoder: config.json and weights"));
  std::string te_config = te.string();
  if (fs::is_directory(te, ec)) {
    FW_ASSIGN_OR_RETURN(te_config, config_in(te, "the UMT5 text encoder's config"));
    FW_ASSIGN_OR_RETURN(f.text, Umt5Config::load(te_config));
  } else {
    FW_ASSIGN_OR_RETURN(f.text, config_of_file(open_umt5, te, "text encoder"));
  }
  if (f.text.d_model != f.dit.text_dim)
    return Error(te_config + ": d_model " + std::to_string(f.text.d_model) + " does not match text_dim " +
                 std::to_string(f.dit.text_dim) + " of " + f.transformer_config);
  if (fs::is_directory(te, ec)) FW_RETURN_IF_ERROR(check_weights(te, "text encoder"));
  f.text_encoder = te.string();
  if (q.tokenizer.empty()) {
    FW_ASSIGN_OR_RETURN(fs::path spiece,
                        s.find("tokenizer/spiece.model", false, "the UMT5 sentencepiece model"));
    f.spiece_model = spiece.string();
    return Status::Ok();
  }
  const fs::path spiece =
      fs::is_directory(q.tokenizer, ec) ? fs::path(q.tokenizer) / "spiece.model" : fs::path(q.tokenizer);
  if (!fs::is_regular_file(spiece, ec))
    return Error("--tokenizer " + q.tokenizer + ": no " + spiece.string() +
                 " (expected the UMT5 sentencepiece model, or a folder holding spiece.model)");
  f.spiece_model = spiece.string();
  return Status::Ok();
}

}  // namespace

Status find_components(ModelFolder& f, const ComponentRequest& q, const NamedParts& n) {
  const Search s{f.single_file ? fs::path() : fs::path(f.model_dir), f.base_dir};
  FW_RETURN_IF_ERROR(find_transformer(s, f));
  FW_RETURN_IF_ERROR(find_text_parts(n, s, f));

  FW_RETURN_IF_ERROR(read_scheduler(s, f));
  return find_decoder_files(q, n, s, f);
}

Expected<WeightStore> open_transformer_weights(const ModelFolder& f) {
  FW_ASSIGN_OR_RETURN(WeightStore store, open_component_weights(f.transformer, Component::wan_dit));
  FW_ASSIGN_OR_RETURN(auto merged, merge_loras(store, f.loras));
  for (const auto& line : merged) log_info("lora " + line);
  return store;
}

Expected<WeightStore> open_text_encoder_weights(const ModelFolder& f) {
  return open_component_weights(f.text_encoder, Component::umt5);
}

}  // namespace fastwan
