// transformers UMT5EncoderModel, the CPU reference:
//   shared: Embedding [vocab_size, d_model] (encoder.embed_tokens is tied to it; either name is accepted)
//   encoder.block.0 .. encoder.block.N-1 (Umt5Block), encoder.final_layer_norm (RMS, weight [d_model])
// No embedding scaling, no position embeddings: positions enter only through each layer's relative bias.
// Weights stay as stored (mmapped bf16 for the published model); only the looked-up rows become f32.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "models/umt5/block.h"

namespace fastwan {

struct Umt5Stack {  // "encoder."
  std::vector<Umt5Block> block;
  nn::NormParams final_layer_norm;
};

class Umt5EncoderModel {
 public:
  // `path`: the text_encoder folder (config.json + model.safetensors[.index.json]), or a single file in any
  // layout models/checkpoint.h reads.
  static Expected<Umt5EncoderModel> load(const std::string& path);
  static Expected<Umt5EncoderModel> load(const Umt5Config& config, const WeightStore& store);

  const Umt5Config& config() const { return config_; }
  const std::string& source() const { return store_.source(); }

  // last_hidden_state [S, d_model] f32 for one sequence. ids: S >= 1 token ids, each < vocab_size.
  // attention_mask: empty (all tokens real) or S values of 0/1, 0 = padding (masked as a key).
  Expected<Tensor> forward(std::span<const int32_t> ids, std::span<const int32_t> attention_mask = {}) const;
  // The validated input of forward(): shared.weight rows of `ids` as f32 [S, d_model] (the GPU encoder
  // starts here; the 2.1 GB table stays in the mmapped file).
  Expected<Tensor> embed(std::span<const int32_t> ids, std::span<const int32_t> attention_mask = {}) const;

 private:
  Umt5Config config_;
  WeightStore store_;  // keeps the mapped files alive
  nn::Embedding shared_;
  Umt5Stack encoder_;
};

}  // namespace fastwan
