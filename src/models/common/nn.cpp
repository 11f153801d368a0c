#include "models/common/nn.h"

#include "core/check.h"
#include "quant/fp8.h"
#include "quant/nvfp4.h"

namespace fastwan::nn {

Expected<Linear> Linear::load(const WeightStore& store, const std::string& prefix, int64_t in, int64_t out,
                              bool has_bias) {
  Linear l;
  FW_ASSIGN_OR_RETURN(l.weight, store.get(prefix + ".weight", {out, in}));
  if (has_bias) {
    FW_ASSIGN_OR_RETURN(l.bias, store.get(prefix + ".bias", {out}));
  }
  return l;
}

namespace {

enum class Operand { weight, input };

// The fake quantization of a linear's operand in a quantized mode: the weight once at set_mode (from its bf16
// cast, as FastVideo quantizes it), the input at every call.
Expected<Tensor> fake_quantize(const Tensor& x, quant::LinearMode mode, Operand operand,
                               const std::string& name) {
  if (mode == quant::LinearMode::nvfp4)
    return operand == Operand::weight ? quant::fake_quantize_nvfp4_weight(x, name)
                                      : quant::fake_quantize_nvfp4_input(x, name);
  const auto granularity =
      mode == quant::LinearMode::fp8_row ? quant::Fp8Granularity::per_row : quant::Fp8Granularity::per_tensor;
  return quant::fake_quantize_fp8(operand == Operand::weight ? x.to(DType::bf16) : x, granularity, name);
}

}  // namespace

Status Linear::set_mode(quant::LinearMode new_mode, const std::string& prefix) {
  name = prefix;
  if (new_mode == mode) return Status::Ok();
  if (mode != quant::LinearMode::bf16) return Error(prefix + ": the weight is already quantized");
  mode = new_mode;
  if (mode == quant::LinearMode::bf16) return Status::Ok();
  FW_ASSIGN_OR_RETURN(weight, fake_quantize(weight, mode, Operand::weight, prefix + ".weight"));
  return Status::Ok();
}

Tensor Linear::operator()(const Tensor& x) const {
  if (mode == quant::LinearMode::bf16) return ops::linear(x, weight, bias);
  auto xq = fake_quantize(x.contiguous(), mode, Operand::input, "the input of " + name);
  FW_CHECK(xq.ok(), xq.ok() ? std::string() : xq.error().message());
  return ops::linear(*xq, weight, bias);
}

Expected<NormParams> NormParams::load(const WeightStore& store, const std::string& prefix, int64_t dim,
                                      bool has_bias) {
  NormParams n;
  FW_ASSIGN_OR_RETURN(n.weight, store.get(prefix + ".weight", {dim}));
  if (has_bias) {
    FW_ASSIGN_OR_RETURN(n.bias, store.get(prefix + ".bias", {dim}));
  }
  return n;
}

Expected<NormParams> NormParams::load_named(const WeightStore& store, const std::string& weight_name,
                                            const Shape& shape) {
  NormParams n;
  FW_ASSIGN_OR_RETURN(n.weight, store.get(weight_name, shape));
  return n;
}

Expected<Embedding> Embedding::load(const WeightStore& store, const std::string& weight_name, int64_t num,
                                    int64_t dim) {
  Embedding e;
  FW_ASSIGN_OR_RETURN(e.weight, store.get(weight_name, {num, dim}));
  return e;
}

Tensor Embedding::operator()(std::span<const int32_t> ids) const {
  const int64_t num = weight.dim(0), dim = weight.dim(1);
  FW_CHECK(weight.is_contiguous(), "embedding: table must be contiguous, got " + weight.describe());
  Tensor out = Tensor::empty({static_cast<int64_t>(ids.size()), dim}, DType::f32);
  const size_t row_bytes = static_cast<size_t>(dim) * dtype_size(weight.dtype());
  for (size_t i = 0; i < ids.size(); ++i) {
    FW_CHECK(ids[i] >= 0 && ids[i] < num,
             "embedding: id " + std::to_string(ids[i]) + " outside [0, " + std::to_string(num) + ")");
    convert_to_f32(static_cast<const char*>(weight.raw()) + ids[i] * row_bytes, weight.dtype(),
                   out.f32() + i * dim, static_cast<size_t>(dim));
  }
  return out;
}

}  // namespace fastwan::nn
