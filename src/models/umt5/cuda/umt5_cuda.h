// The UMT5 encoder on the GPU: bf16 weights (q/k/v and wi_0/wi_1 fused into one GEMM each), T5 RMS norms in
// fp32, per-layer relative position bias, softmax in fp32, cuBLASLt for every product (the per-head attention
// products as strided batched GEMMs). Residual adds ride on the output GEMMs (beta = 1).
//
// The token embedding (shared.weight, 2.1 GB for UMT5-XXL) stays on the host: only the looked-up rows are
// uploaded, by the caller, as the input of forward().
#pragma once

#include <cuda_runtime.h>

#include <memory>
#include <vector>

#include "cuda/context.h"
#include "cuda/device.h"
#include "io/weight_store.h"
#include "models/common/cuda/linear.h"
#include "models/umt5/config.h"

namespace fastwan::cuda {

struct Umt5LayerWeights {
  Linear qkv;                         // [3 inner, d_model]: SelfAttention.q | k | v
  Linear o;                           // [d_model, inner]
  Tensor relative_attention_bias;     // [num_buckets, heads]
  Tensor layer_0_norm, layer_1_norm;  // [d_model]
  Linear wi;                          // [2 d_ff, d_model]: DenseReluDense.wi_0 | wi_1
  Linear wo;                          // [d_model, d_ff]
};

struct Umt5Weights {
  std::vector<Umt5LayerWeights> block;
  Tensor final_layer_norm;  // [d_model]
  size_t bytes() const;
};

Expected<Umt5Weights> upload_umt5_weights(const Umt5Config& config, const WeightStore& store);
Umt5Weights random_umt5_weights(const Umt5Config& config, uint64_t seed);

class Umt5EncoderCuda {
 public:
  Umt5EncoderCuda(std::shared_ptr<DeviceContext> ctx, const Umt5Config& config, Umt5Weights weights,
                  int max_rows = 512);
  const Umt5Config& config() const { return config_; }
  const Umt5Weights& weights() const { return weights_; }

  // embeddings: [rows, d_model] (host or device, f32 or bf16): the rows of shared.weight for the tokens.
  // key_mask: empty (every token real) or `rows` values of 0/1. Returns the final-norm output, device bf16
  // [rows, d_model], valid until the next call.
  Expected<Tensor> forward(const Tensor& embeddings, const std::vector<int32_t>& key_mask = {});

 private:
  std::shared_ptr<DeviceContext> ctx_;
  Umt5Config config_;
  Umt5Weights weights_;
  int max_rows_;
  cudaStream_t stream_;
  std::unique_ptr<Arena> arena_;
  Tensor x_, h_, qkv_, scores_, probs_, attn_, ff_, gu_, out_, bucket_, mask_;
};

}  // namespace fastwan::cuda
