#include "io/checkpoint_info.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "io/gguf.h"
#include "io/json_config.h"
#include "io/weight_store.h"
#include "models/checkpoint.h"
#include "models/wan_dit/lora.h"

namespace fastwan {
namespace fs = std::filesystem;
namespace {

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string human_bytes(double b) {
  char buf[32];
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", b, units[u]);
  return buf;
}

void describe_weights(const WeightStore& store, const InfoOptions& o, const std::string& indent,
                      std::ostream& os) {
  std::map<std::string, int64_t> dtypes;
  int64_t params = 0;
  double bytes = 0;
  for (const auto& name : store.names()) {
    const TensorInfo* t = store.info(name);
    dtypes[std::string(dtype_name(t->dtype))]++;
    params += shape_numel(t->shape);
    bytes += static_cast<double>(t->end - t->begin);
  }
  const size_t files = std::max<size_t>(1, store.files().size());  // a GGUF store reads one file
  os << indent << "weights: " << files << (files == 1 ? " file, " : " files, ") << store.size()
     << " tensors, " << with_commas(params) << " parameters (" << human_bytes(bytes) << ")\n";
  os << indent << "dtypes:";
  for (const auto& [d, n] : dtypes) os << " " << d << " x" << n;
  os << "\n";
  for (const auto& f : store.files())
    for (const auto& [k, v] : f->metadata()) os << indent << "metadata " << k << ": " << v << "\n";
  if (o.list_tensors) {
    for (const auto& name : store.names()) {
      const TensorInfo* t = store.info(name);
      os << indent << "  " << name << "  " << dtype_name(t->dtype) << shape_string(t->shape) << "\n";
    }
  }
}

std::string config_line(const WanDitConfig& c) {
  std::ostringstream os;
  os << "dim " << c.dim() << " (" << c.num_attention_heads << " heads x " << c.attention_head_dim << "), "
     << c.num_layers << " layers, ffn " << c.ffn_dim << ", text_dim " << c.text_dim << ", patch ["
     << c.patch_size[0] << ", " << c.patch_size[1] << ", " << c.patch_size[2] << "], channels "
     << c.in_channels << " -> " << c.out_channels;
  return os.str();
}

std::string config_line(const Umt5Config& c) {
  std::ostringstream os;
  os << "d_model " << c.d_model << " (" << c.num_heads << " heads x " << c.d_kv << "), " << c.num_layers
     << " layers, d_ff " << c.d_ff << ", vocab " << c.vocab_size << ", " << c.relative_attention_num_buckets
     << " position buckets up to " << c.relative_attention_max_distance;
  return os.str();
}

std::string config_line(const WanVaeConfig& c) {
  std::ostringstream os;
  os << "base_dim " << c.base_dim << ", z_dim " << c.z_dim << ", " << c.dim_mult.size() << " levels, "
     << c.num_res_blocks << " res blocks, decodes " << c.spatial_scale() << "x space, " << c.temporal_scale()
     << "x time";
  return os.str();
}

Expected<std::string> describe_config(const fs::path& config_path) {
  FW_ASSIGN_OR_RETURN(auto j, read_json_file(config_path.string()));
  std::string cls = j.value("_class_name", "");
  if (cls.empty() && j.contains("architectures") && j["architectures"].is_array() &&
      !j["architectures"].empty())
    cls = j["architectures"][0].get<std::string>();
  std::string line = "class " + (cls.empty() ? std::string("(unnamed)") : cls);
  if (cls == "WanTransformer3DModel") {
    FW_ASSIGN_OR_RETURN(auto c, WanDitConfig::from_json(j, config_path.string()));
    line += ": " + config_line(c);
  } else if (cls == "UMT5EncoderModel") {
    FW_ASSIGN_OR_RETURN(auto c, Umt5Config::from_json(j, config_path.string()));
    line += ": " + config_line(c);
  } else if (cls == "AutoencoderKLWan") {
    FW_ASSIGN_OR_RETURN(auto c, WanVaeConfig::from_json(j, config_path.string()));
    line += ": " + config_line(c);
  }
  return line;
}

// A single file of a model component: its layout and the config read from it.
Status describe_single_file(const std::string& path, const AnyCheckpoint& d, std::ostream& os) {
  os << "layout: single file, " << component_name(d.component) << " (" << d.store.layout() << ")\n";
  std::string config;
  switch (d.component) {
    case Component::wan_dit: {
      FW_ASSIGN_OR_RETURN(auto c, WanDitConfig::from_json(d.config, path));
      config = config_line(c);
      break;
    }
    case Component::umt5: {
      FW_ASSIGN_OR_RETURN(auto c, Umt5Config::from_json(d.config, path));
      config = config_line(c);
      break;
    }
    case Component::wan_vae: {
      FW_ASSIGN_OR_RETURN(auto c, WanVaeConfig::from_json(d.config, path));
      config = config_line(c);
      break;
    }
  }
  os << "config: " << config << " (read from the file)\n";
  if (is_gguf_file(path)) {
    FW_ASSIGN_OR_RETURN(auto gguf, GgufFile::open(path));
    std::map<std::string, int> types;
    for (const auto& t : gguf->header().tensors) types[t.type->name]++;
    os << "ggml types:";
    for (const auto& [t, n] : types) os << " " << t << " x" << n;
    os << " (quantized types are dequantized to bf16 at load)\n";
  }
  return Status::Ok();
}

bool has_weights(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 12 && (n.ends_with(".safetensors") || n.ends_with(".safetensors.index.json"))) return true;
  }
  return false;
}

Status describe_component(const fs::path& dir, const InfoOptions& o, const std::string& indent,
                          std::ostream& os) {
  if (fs::exists(dir / "config.json")) {
    FW_ASSIGN_OR_RETURN(std::string cfg, describe_config(dir / "config.json"));
    os << indent << "config: " << cfg << "\n";
  }
  if (has_weights(dir)) {
    FW_ASSIGN_OR_RETURN(auto store, WeightStore::open(dir.string()));
    describe_weights(store, o, indent, os);
  }
  return Status::Ok();
}

}  // namespace

Expected<std::string> describe_checkpoint(const std::string& path, const InfoOptions& o) {
  std::error_code ec;
  const fs::path p(path);
  if (!fs::exists(p, ec)) return Error(path + ": no such file or folder");
  std::ostringstream os;
  os << "path: " << path << "\n";
  if (!fs::is_directory(p, ec)) {
    FW_ASSIGN_OR_RETURN(auto store, WeightStore::open(path));
    // A model component is named with its layout, a LoRA as one; any other tensor file is listed as is.
    FW_ASSIGN_OR_RETURN(auto detected, open_any(path));
    if (detected) {
      FW_RETURN_IF_ERROR(describe_single_file(path, *detected, os));
      describe_weights(detected->store, o, "", os);
      return os.str();
    }
    if (const size_t modules = lora_module_count(store))
      os << "layout: LoRA, " << modules
         << " low-rank modules (merged with fastwan generate --lora FILE[:SCALE])\n";
    else
      os << "layout: " << (path.ends_with(".index.json") ? "sharded safetensors (index)" : "tensor file")
         << "\n";
    describe_weights(store, o, "", os);
    return os.str();
  }
  if (fs::exists(p / "model_index.json")) {
    FW_ASSIGN_OR_RETURN(auto index, read_json_file((p / "model_index.json").string()));
    os << "layout: diffusers pipeline (" << index.value("_class_name", "unnamed") << ")\n";
    for (auto it = index.begin(); it != index.end(); ++it) {
      if (it.key().starts_with("_")) continue;
      os << it.key() << "/";
      if (!fs::is_directory(p / it.key())) {
        os << "  (missing)\n";
        continue;
      }
      os << "\n";
      FW_RETURN_IF_ERROR(describe_component(p / it.key(), o, "  ", os));
    }
    return os.str();
  }
  if (!fs::exists(p / "config.json") && !has_weights(p))
    return Error(path + ": no model_index.json, config.json or .safetensors weights in this folder");
  os << "layout: model component folder\n";
  FW_RETURN_IF_ERROR(describe_component(p, o, "", os));
  return os.str();
}

}  // namespace fastwan
