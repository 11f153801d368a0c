#include "models/wan_dit/lora.h"

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/log.h"
#include "models/wan_dit/layout.h"
#include "ops/ops.h"

namespace fastwan {
namespace {

// The tensors of one low-rank pair in the LoRA file.
struct LoraPair {
  std::string down, up, alpha;  // A [r, in], B [out, r], optional scalar
};

constexpr std::pair<const char*, int> kSuffixes[] = {
    {".lora_A.weight", 0}, {".lora_A.default.weight", 0}, {".lora_down.weight", 0},
    {".lora_B.weight", 1}, {".lora_B.default.weight", 1}, {".lora_up.weight", 1},
    {".alpha", 2},
};
constexpr const char* kPrefixes[] = {"base_model.model.", "model.diffusion_model.",
                                     "diffusion_model.",  "transformer.",
                                     "lora_unet_",        "lora_transformer_"};

// The module key and part (0 down/A, 1 up/B, 2 alpha) of a LoRA tensor name; nullopt for other tensors.
std::optional<std::pair<std::string, int>> lora_part(const std::string& name) {
  for (const auto& [suffix, part] : kSuffixes)
    if (name.ends_with(suffix))
      return std::pair{name.substr(0, name.size() - std::string(suffix).size()), part};
  return std::nullopt;
}

std::string underscored(std::string s) {
  for (char& c : s)
    if (c == '.') c = '_';
  return s;
}

// Every name a LoRA may give a DiT linear (diffusers and original names, dotted or kohya's underscores),
// to its weight's diffusers name.
std::map<std::string, std::string> linear_keys(const WeightStore& store) {
  std::map<std::string, std::string> keys;
  for (const auto& name : store.names()) {
    const TensorInfo* info = store.info(name);
    if (!name.ends_with(".weight") || info->shape.size() != 2) continue;
    const std::string module = name.substr(0, name.size() - 7);
    const std::string original =
        apply_name_rules(wan_dit_original_names(), module, RenameTo::other).value_or(module);
    for (const std::string& key : {module, original, underscored(module), underscored(original)})
      keys[key] = name;
  }
  return keys;
}

std::string strip_prefixes(std::string key) {
  for (bool again = true; again;) {
    again = false;
    for (const char* p : kPrefixes)
      if (key.starts_with(p)) {
        key = key.substr(std::string(p).size());
        again = true;
      }
  }
  return key;
}

// W + factor * B A in W's dtype (bf16 for stored types that are not plain floats).
Expected<Tensor> merged(const Tensor& w, const Tensor& up, const Tensor& down, float factor) {
  const Tensor a_t = down.to_f32().permute({1, 0}).contiguous();  // [in, r]
  const Tensor b = up.to_f32().contiguous();                      // [out, r]
  const Tensor delta = ops::linear(b, a_t);                       // [out, in] = B A
  Tensor out = w.to_f32().contiguous();
  float* o = out.f32();
  const float* d = delta.f32();
  for (int64_t i = 0; i < out.numel(); ++i) o[i] += factor * d[i];
  const DType t = w.dtype();
  return out.to(t == DType::f32 || t == DType::f16 || t == DType::bf16 ? t : DType::bf16);
}

Expected<std::string> merge_one(WeightStore& store, const LoraSpec& spec,
                                const std::map<std::string, std::string>& keys) {
  auto lora = std::make_shared<WeightStore>();
  FW_ASSIGN_OR_RETURN(*lora, WeightStore::open(spec.path));
  std::map<std::string, LoraPair> pairs;  // by the layer's diffusers weight name
  std::string unmatched;
  std::map<std::string, bool> seen;  // module key in the file -> matched a linear
  for (const auto& name : lora->names()) {
    const auto part = lora_part(name);
    if (!part) continue;
    const std::string& key = part->first;
    auto it = keys.find(strip_prefixes(key));
    seen[key] = it != keys.end();
    if (it == keys.end()) {
      if (unmatched.empty()) unmatched = key;
      continue;
    }
    LoraPair& p = pairs[it->second];
    (part->second == 0 ? p.down : part->second == 1 ? p.up : p.alpha) = name;
  }
  int matched = 0;
  for (const auto& [key, ok] : seen) matched += ok ? 1 : 0;
  const int modules = static_cast<int>(seen.size());
  if (matched == 0)
    return Error(spec.path + ": 0 of " + std::to_string(modules) +
                 " LoRA modules match a linear of the Wan DiT" +
                 (unmatched.empty() ? " (no lora_A/lora_B or lora_down/lora_up keys)"
                                    : " (first: '" + unmatched + "')"));
  if (matched < modules)
    log_warn(spec.path + ": " + std::to_string(modules - matched) + " of " + std::to_string(modules) +
             " LoRA modules match no linear of the Wan DiT and are left out (first: '" + unmatched + "')");
  int64_t rank = 0;
  for (const auto& [weight, p] : pairs) {
    const std::string where = spec.path + ": LoRA for '" + weight + "'";
    if (p.down.empty() || p.up.empty()) return Error(where + " has only one of its two matrices");
    const Shape w = store.info(weight)->shape, a = lora->info(p.down)->shape, b = lora->info(p.up)->shape;
    if (a.size() != 2 || b.size() != 2 || a[1] != w[1] || b[0] != w[0] || a[0] != b[1])
      return Error(where + ": " + p.up + " " + shape_string(b) + " x " + p.down + " " + shape_string(a) +
                   " does not make the layer's " + shape_string(w));
    rank = a[0];
    float alpha = static_cast<float>(a[0]);
    if (!p.alpha.empty()) {
      FW_ASSIGN_OR_RETURN(Tensor t, lora->get(p.alpha));
      if (t.numel() != 1 || !dtype_is_float(t.dtype()))
        return Error(where + ": " + p.alpha + " is not one float");
      alpha = t.item_f32(0);
    }
    const float factor = spec.scale * alpha / static_cast<float>(a[0]);
    WeightStore::Reader base = store.reader(weight);
    const std::string up = p.up, down = p.down;
    store.set(weight, *store.info(weight), [base, lora, up, down, factor]() -> Expected<Tensor> {
      FW_ASSIGN_OR_RETURN(Tensor base_weight, base());
      FW_ASSIGN_OR_RETURN(Tensor up_weight, lora->get(up));
      FW_ASSIGN_OR_RETURN(Tensor down_weight, lora->get(down));
      return merged(base_weight, up_weight, down_weight, factor);
    });
  }
  char scale[32];
  std::snprintf(scale, sizeof scale, "%g", spec.scale);
  return spec.path + ": " + std::to_string(matched) + " of " + std::to_string(modules) + " modules (rank " +
         std::to_string(rank) + ", scale " + scale + ")";
}

}  // namespace

Expected<LoraSpec> parse_lora_spec(const std::string& text) {
  LoraSpec spec{text, 1.0f};
  const size_t colon = text.rfind(':');
  if (colon != std::string::npos) {
    const std::string number = text.substr(colon + 1);
    char* end = nullptr;
    const float v = std::strtof(number.c_str(), &end);
    if (!number.empty() && end == number.c_str() + number.size()) {
      if (!std::isfinite(v)) return Error("--lora " + text + ": the scale must be a finite number");
      spec = {text.substr(0, colon), v};
    }
  }
  if (spec.path.empty()) return Error("--lora " + text + ": expected FILE or FILE:SCALE");
  return spec;
}

size_t lora_module_count(const WeightStore& lora) {
  std::set<std::string> modules;
  for (const auto& name : lora.names())
    if (auto part = lora_part(name)) modules.insert(part->first);
  return modules.size();
}

Expected<std::vector<std::string>> merge_loras(WeightStore& store, const std::vector<LoraSpec>& loras) {
  std::vector<std::string> lines;
  if (loras.empty()) return lines;
  const auto keys = linear_keys(store);
  for (const auto& spec : loras) {
    auto line = merge_one(store, spec, keys);
    if (!line) return line.error().with_context("--lora");
    lines.push_back(*line);
  }
  return lines;
}

}  // namespace fastwan
