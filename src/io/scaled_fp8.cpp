#include "io/scaled_fp8.h"

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"

namespace fastwan {
namespace {

constexpr const char* kScaleSuffixes[] = {".scale_weight", ".weight_scale"};
constexpr const char* kDroppedSuffixes[] = {".scale_input", ".input_scale", ".comfy_quant"};

bool is_fp8(DType t) {
  return t == DType::fp8_e4m3 || t == DType::fp8_e5m2;
}

// The per-layer format records: `<layer>.comfy_quant` tensors and the metadata's _quantization_metadata.
Expected<std::map<std::string, std::string>> layer_formats(const WeightStore& store) {
  std::map<std::string, std::string> formats;
  auto add = [&](const std::string& layer, const nlohmann::json& record, const std::string& where) -> Status {
    if (!record.is_object() || !record.contains("format") || !record["format"].is_string())
      return Error(where + ": expected a JSON object with a \"format\" string");
    formats[layer] = record["format"].get<std::string>();
    return Status::Ok();
  };
  if (auto text = store.metadata("_quantization_metadata")) {
    const auto j = nlohmann::json::parse(*text, nullptr, false);
    const std::string where = store.source() + ": _quantization_metadata";
    if (j.is_discarded() || !j.is_object() || !j.contains("layers") || !j["layers"].is_object())
      return Error(where + ": expected JSON with a \"layers\" object");
    for (auto l = j["layers"].begin(); l != j["layers"].end(); ++l)
      FW_RETURN_IF_ERROR(add(l.key(), *l, where + " layer '" + l.key() + "'"));
  }
  for (const auto& name : store.names()) {
    if (!name.ends_with(".comfy_quant")) continue;
    FW_ASSIGN_OR_RETURN(Tensor t, store.get(name));
    const Tensor bytes = t.contiguous();
    if (t.dtype() != DType::u8 && t.dtype() != DType::i8)
      return Error("tensor '" + name + "' in " + store.file_of(name) + ": expected u8 JSON bytes, found " +
                   t.describe());
    const char* text = static_cast<const char*>(bytes.raw());
    const auto j = nlohmann::json::parse(text, text + bytes.nbytes(), nullptr, false);
    const std::string where = "tensor '" + name + "' in " + store.file_of(name);
    if (j.is_discarded()) return Error(where + ": not valid JSON");
    FW_RETURN_IF_ERROR(add(name.substr(0, name.size() - 12), j, where));
  }
  return formats;
}

}  // namespace

Expected<Tensor> multiply_fp8_scale(const Tensor& fp8, const Tensor& scale) {
  const int64_t rows = fp8.ndim() > 0 ? fp8.dim(0) : 1;
  if (scale.numel() != 1 && scale.numel() != rows)
    return Error("scale " + scale.describe() + " does not fit weight " + fp8.describe() +
                 " (expected one value or one per row)");
  const Tensor s = scale.to_f32().contiguous();
  const Tensor w = fp8.contiguous();
  Tensor out = Tensor::empty(fp8.shape(), DType::bf16);
  const int64_t cols = rows ? fp8.numel() / rows : 0;
  parallel_for(rows, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      convert_to_f32(static_cast<const uint8_t*>(w.raw()) + r * cols, w.dtype(), row.data(), row.size());
      const float k = s.f32()[s.numel() == 1 ? 0 : r];
      auto* dst = out.data<uint16_t>() + r * cols;
      for (int64_t c = 0; c < cols; ++c) dst[c] = float_to_bf16(row[static_cast<size_t>(c)] * k);
    }
  });
  return out;
}

Expected<std::string> dequantize_scaled_fp8(WeightStore& store) {
  FW_ASSIGN_OR_RETURN(auto formats, layer_formats(store));
  std::string fp8_type;
  int layers = 0;
  for (const auto& name : store.names()) {
    for (const char* suffix : kScaleSuffixes) {
      if (!name.ends_with(suffix)) continue;
      const std::string layer = name.substr(0, name.size() - std::string(suffix).size());
      const std::string weight = layer + ".weight";
      const TensorInfo* w = store.info(weight);
      const TensorInfo* s = store.info(name);
      const std::string where = "layer '" + layer + "' in " + store.file_of(name);
      // The metadata names layers as the file does (before a prefix was stripped).
      auto f = formats.find(layer);
      if (f == formats.end() && w) f = formats.find(w->name.substr(0, w->name.size() - 7));
      if (f != formats.end() && f->second != "float8_e4m3fn" && f->second != "float8_e5m2")
        return Error(where + ": quantization format '" + f->second +
                     "' is not supported (expected float8_e4m3fn or float8_e5m2)");
      if (!w || !is_fp8(w->dtype))
        return Error(where + ": has " + name + " but " +
                     (w ? "its weight is " + std::string(dtype_name(w->dtype)) : std::string("no weight")) +
                     " (expected an FP8 weight)");
      if (!dtype_is_float(s->dtype) || (shape_numel(s->shape) != 1 && shape_numel(s->shape) != w->shape[0]))
        return Error(where + ": " + name + " is " + std::string(dtype_name(s->dtype)) +
                     shape_string(s->shape) + ", expected one float or one per row");
      fp8_type = dtype_name(w->dtype);
      TensorInfo info = *w;
      WeightStore::Reader read_w = store.reader(weight), read_s = store.reader(name);
      store.set(weight, info, [read_w, read_s]() -> Expected<Tensor> {
        FW_ASSIGN_OR_RETURN(Tensor q, read_w());
        FW_ASSIGN_OR_RETURN(Tensor k, read_s());
        return multiply_fp8_scale(q, k);
      });
      store.erase(name);
      for (const char* dropped : kDroppedSuffixes) store.erase(layer + dropped);
      ++layers;
    }
  }
  const bool marker = store.contains("scaled_fp8");
  store.erase("scaled_fp8");
  if (layers == 0) return std::string(marker ? "scaled FP8 marker, no scaled layers" : "");
  return "scaled FP8 (" + fp8_type + "), " + std::to_string(layers) + " layers";
}

}  // namespace fastwan
