#include "models/convert.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/name_rules.h"
#include "io/safetensors.h"
#include "models/umt5/layout.h"
#include "models/wan_dit/layout.h"
#include "models/wan_vae/layout.h"

namespace fastwan {
namespace fs = std::filesystem;
namespace {

constexpr float kFp8Max = 448.0f;  // largest finite F8_E4M3

const NameRules& original_names(Component c) {
  switch (c) {
    case Component::wan_dit:
      return wan_dit_original_names();
    case Component::umt5:
      return umt5_original_names();
    case Component::wan_vae:
      return wan_vae_original_names();
  }
  return wan_dit_original_names();
}

// The weight as F8_E4M3 values of w / scale, and the scale amax / 448 (1 for an all-zero weight).
std::pair<Tensor, float> quantize_fp8(const Tensor& weight) {
  const Tensor w = weight.to_f32().contiguous();
  float amax = 0.0f;
  for (int64_t i = 0; i < w.numel(); ++i) amax = std::max(amax, std::fabs(w.f32()[i]));
  const float scale = amax > 0.0f ? amax / kFp8Max : 1.0f;
  Tensor q = Tensor::empty(w.shape(), DType::fp8_e4m3);
  auto* dst = q.data<uint8_t>();
  for (int64_t i = 0; i < w.numel(); ++i) dst[i] = float_to_fp8_e4m3(w.f32()[i] / scale);
  return {q, scale};
}

Status write_json(const fs::path& path, const nlohmann::json& j) {
  const fs::path tmp = path.string() + ".partial";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) return Error(path.string() + ": cannot write");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Error(path.string() + ": cannot write: " + ec.message());
  return Status::Ok();
}

}  // namespace

bool is_fp8_linear(Component c, const std::string& name) {
  if (!name.ends_with(".weight")) return false;
  if (c == Component::wan_dit) {
    for (const char* part : {".to_q.", ".to_k.", ".to_v.", ".to_out.0.", ".ffn.net.0.proj.", ".ffn.net.2."})
      if (name.find(part) != std::string::npos && name.starts_with("blocks.")) return true;
    return false;
  }
  if (c == Component::umt5) {
    for (const char* part :
         {".SelfAttention.q.", ".SelfAttention.k.", ".SelfAttention.v.", ".SelfAttention.o.",
          ".DenseReluDense.wi_0.", ".DenseReluDense.wi_1.", ".DenseReluDense.wo."})
      if (name.find(part) != std::string::npos) return true;
  }
  return false;
}

Status write_component_file(const WeightStore& store, Component c, const FileLayout& layout,
                            const std::string& path) {
  std::vector<TensorToWrite> tensors;
  auto add = [&](const std::string& name, const Tensor& t) {
    const Tensor data = t.contiguous();
    tensors.push_back({layout.prefix + name, data.dtype(), data.shape(), [data](void* dst) {
                         if (data.nbytes()) std::memcpy(dst, data.raw(), data.nbytes());
                       }});
  };
  for (const auto& name : store.names()) {
    FW_ASSIGN_OR_RETURN(Tensor t, store.get(name));
    const std::string stored = layout.original_names
                                   ? apply_name_rules(original_names(c), name, RenameTo::other).value_or(name)
                                   : name;
    if (layout.scaled_fp8 && is_fp8_linear(c, name)) {
      auto [q, scale] = quantize_fp8(t);
      add(stored, q);
      const std::string layer = stored.substr(0, stored.size() - std::string(".weight").size());
      add(layer + ".scale_weight", Tensor::from_floats({}, {scale}));
    } else {
      add(stored, t);
    }
  }
  if (layout.scaled_fp8) add("scaled_fp8", Tensor::zeros({2}).to(DType::fp8_e4m3));
  std::map<std::string, std::string> metadata;
  if (!layout.config.is_null()) metadata["config"] = layout.config.dump();
  return write_safetensors(path, tensors, metadata);
}

Expected<std::string> convert_checkpoint(const ConvertOptions& o) {
  FW_ASSIGN_OR_RETURN(auto found, open_any(o.input));
  if (!found)
    return Error(o.input + ": not a Wan DiT, UMT5 text encoder or Wan VAE in any layout fastwan reads");
  const AnyCheckpoint& in = *found;
  const std::string what = std::string(component_name(in.component)) + " (" + in.store.layout() + ")";
  if (o.scaled_fp8) {
    if (in.component == Component::wan_vae)
      return Error(o.input +
                   ": the Wan VAE has no scaled-FP8 form (its convolutions stay in full precision)");
    FileLayout layout;
    layout.original_names = in.component == Component::wan_dit;
    layout.scaled_fp8 = true;
    layout.config = in.config;
    FW_RETURN_IF_ERROR(write_component_file(in.store, in.component, layout, o.output));
    return "wrote " + o.output + ": " + what + " as a scaled-FP8 single file";
  }
  std::error_code ec;
  fs::create_directories(o.output, ec);
  if (ec) return Error(o.output + ": cannot create folder: " + ec.message());
  const char* weights =
      in.component == Component::umt5 ? "model.safetensors" : "diffusion_pytorch_model.safetensors";
  FW_RETURN_IF_ERROR(
      write_component_file(in.store, in.component, FileLayout{}, (fs::path(o.output) / weights).string()));
  FW_RETURN_IF_ERROR(write_json(fs::path(o.output) / "config.json", in.config));
  return "wrote " + o.output + "/: " + what + " as a diffusers folder (config.json, " + weights + ")";
}

}  // namespace fastwan
