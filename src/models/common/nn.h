// Parameter holders shared by the model trees. Each loads its tensors by checkpoint name with shape checks,
// keeps them as stored (mmapped views) and runs the CPU reference op.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "io/weight_store.h"
#include "ops/ops.h"
#include "quant/modes.h"

namespace fastwan::nn {

// torch.nn.Linear: weight [out, in], bias [out].
//
// In a quantized mode (set_mode) the layer is the CPU oracle of the GPU's quantized linear, as fake
// quantization: the weight is replaced by its dequantized FP8 or NVFP4 value (quantized from the bf16 cast,
// as FastVideo does on the GPU; NVFP4's GEMM alpha folded in), and every input is quantized and dequantized
// before the fp32 product.
struct Linear {
  Tensor weight;
  Tensor bias;  // undefined when the layer has none
  quant::LinearMode mode = quant::LinearMode::bf16;
  std::string name;  // the checkpoint prefix, for errors (set by set_mode)

  static Expected<Linear> load(const WeightStore& store, const std::string& prefix, int64_t in, int64_t out,
                               bool has_bias = true);
  int64_t in_features() const { return weight.dim(1); }
  int64_t out_features() const { return weight.dim(0); }
  Status set_mode(quant::LinearMode mode, const std::string& prefix);
  Tensor operator()(const Tensor& x) const;
};

// A norm's affine parameters (weight [dim], optional bias [dim]).
struct NormParams {
  Tensor weight;
  Tensor bias;

  static Expected<NormParams> load(const WeightStore& store, const std::string& prefix, int64_t dim,
                                   bool has_bias);
  static Expected<NormParams> load_named(const WeightStore& store, const std::string& weight_name,
                                         const Shape& shape);
};

// torch.nn.Embedding: weight [num, dim]. Gathers the rows asked for as f32 (never the whole table).
struct Embedding {
  Tensor weight;

  static Expected<Embedding> load(const WeightStore& store, const std::string& weight_name, int64_t num,
                                  int64_t dim);
  int64_t num_embeddings() const { return weight.dim(0); }
  // ids must be in [0, num) (checked: callers validate user input first). Returns [ids.size(), dim].
  Tensor operator()(std::span<const int32_t> ids) const;
};

}  // namespace fastwan::nn
